"""Faults: Redis, a worker and PostgreSQL killed and restarted during a voting burst and during
a campaign send (PostgreSQL + Redis + real rq workers + the fake AT).

What must hold: every callback answered 200 is stored and acted on; one that could not be
stored gets a non-200, so AT posts it again; a USSD hop that cannot be served ends with a
polite END (200: AT never retries a hop, and a non-200 shows the phone an error); and service
resumes with nothing done by hand. These tests kill servers of their own, so the
session-wide ones other tests use are never touched.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import event, func, select

from app.campaigns import lifecycle
from app.campaigns.audience import Audience
from app.campaigns.materialise import LOST_AFTER
from app.campaigns.runner import campaign_jobs, start_work, sweep
from app.db import migrate
from app.db.base import utcnow
from app.db.models import (
    Ballot,
    Campaign,
    CampaignStatus,
    InboundSms,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Role,
    SendLane,
    UssdSessionEvent,
)
from app.db.session import CONNECT_TIMEOUT, make_engine
from app.runtime import REDIS_TIMEOUT, build_runtime
from app.services import accounts, contacts, inbound_sms, outbox_relay
from app.services.organizations import organization_by_code
from app.services.ussd import FAILED
from app.settings import Settings
from tests import servers
from tests.at_replay import Callback, Carrier, delivery_report, ussd_hop, ussd_session
from tests.at_replay import inbound_sms as sms_callback
from tests.conftest import _wipe_postgres
from tests.pb_support import add_cycle
from tests.sms_support import run_jobs
from tests.test_sms_durability import sent_numbers, worker_process
from workers.__main__ import build_worker
from workers.context import set_runtime

USSD_VOTERS = [f"+2547440000{n:02d}" for n in range(6)]
SMS_VOTERS = [f"+2547440001{n:02d}" for n in range(6)]
SORRY = "END " + FAILED
LATER = timedelta(minutes=10)  # "the relay ran ten minutes later": stuck rows count as stuck
OPEN_ALWAYS = "00:00-00:00"  # campaign sending hours: whenever the test runs


@dataclass
class Own:
    postgres: servers.PostgresServer
    redis: servers.RedisServer


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Iterator[Own]:
    """A PostgreSQL and a Redis for this module alone, restartable on the same port."""
    missing = servers.missing_server_programs()
    if missing:
        pytest.fail(f"install {', '.join(missing)} (make test does it) to run these tests")
    base = tmp_path_factory.mktemp("chaos")
    own = Own(servers.PostgresServer(base / "pg", durable=True),
              servers.RedisServer(base / "redis"))
    try:
        own.postgres.start()
        engine = make_engine(own.postgres.url)
        migrate.upgrade(engine)
        engine.dispose()
        own.redis.start()
        yield own
    finally:
        own.postgres.stop()
        own.redis.stop()


def crash(server: servers.RedisServer | servers.PostgresServer) -> None:
    """What a crash leaves behind: Redis loses all it held (SIGKILL); PostgreSQL stops at once,
    no checkpoint, and recovers at its next start (SIGQUIT: the postmaster takes its backends
    down with it, so the restart finds no orphan holding the data directory)."""
    process = server._proc  # the wrappers' stop() is a clean shutdown; this is not
    assert process is not None and process.poll() is None
    process.send_signal(signal.SIGKILL if isinstance(server, servers.RedisServer)
                        else signal.SIGQUIT)
    process.wait()
    server._proc = None


@pytest.fixture
def at_settings(own, fake_at) -> Settings:
    return Settings(database_url=own.postgres.url, redis_url=own.redis.url).with_overrides(
        at_username=fake_at.username, at_api_key=fake_at.api_key, at_api_url=fake_at.url,
        sms_batch_size=2, campaign_hours=OPEN_ALWAYS)


@pytest.fixture
def runtime(own, at_settings):
    """Makueni voting (tests/pb_support.py); the voters' contacts know their ward."""
    own.postgres.start()  # up again, should an earlier test have failed mid-outage
    own.redis.start()
    runtime = build_runtime(at_settings)
    fixture = add_cycle(runtime)
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        for msisdn in USSD_VOTERS + SMS_VOTERS:
            contact = contacts.ensure_contact(db, org.id, msisdn)
            contact.language, contact.ward_id = "en", fixture.ward_ids["0431"]
    yield runtime
    set_runtime(None)
    runtime.close()
    own.postgres.start()
    own.redis.start()
    _wipe_postgres(own.postgres.url)
    Redis.from_url(own.redis.url).flushdb()


# -- a voting burst ---------------------------------------------------------------------------


def next_key(screen: str) -> str:
    """What a voter presses on each screen of the vote: Mbooni, Tulimani, the borehole."""
    for start, key in (("CON Makueni County", "1"), ("CON Choose your sub-county", "2"),
                       ("CON Choose your ward", "2"), ("CON Vote in Tulimani?", "1"),
                       ("CON You chose", "1"), ("CON Vote recorded", "2")):
        if screen.startswith(start):
            return key
    assert "Budget left" in screen, screen
    return "99" if "*Borehole" in screen else "1"


class Voter:
    """A handset voting by USSD through `Carrier`; `text` grows as AT grows it."""

    def __init__(self, at: Carrier, msisdn: str) -> None:
        self.at, self.msisdn, self.sessions, self.text = at, msisdn, 0, ""

    def dial(self) -> str:
        self.sessions += 1
        self.text = ""
        return self.hop()

    def press(self, key: str) -> str:
        self.text = f"{self.text}*{key}" if self.text else key
        return self.hop()

    def hop(self) -> str:
        answer = self.at.post(ussd_hop(f"ATUid_chaos_{self.msisdn[-4:]}_{self.sessions}",
                                       self.msisdn, self.text))
        assert answer.status == 200 and answer.body.startswith(("CON ", "END ")), answer
        return answer.body

    def vote(self, until: str | None = None) -> str:
        """Dial and vote to the end, or to the first screen showing `until`."""
        return self.go_on(self.dial(), until)

    def go_on(self, screen: str, until: str | None = None) -> str:
        """Answer each screen from `screen` on, as `vote` does."""
        while not (screen.startswith("END ") or until and until in screen):
            screen = self.press(next_key(screen))
        return screen


def sms_vote(msisdn: str) -> Callback:
    return sms_callback(f"ATXid_chaos_{msisdn[-4:]}", msisdn, "VOTE 1 3")


def count(runtime, model, *where) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def assert_nothing_acknowledged_was_lost(runtime, at: Carrier) -> None:
    """Every vote AT got a 200 for is counted once, and every voter got one answer."""
    sms_ids = {a.callback.form["id"] for a in at.acknowledged if a.callback.path == "/at/sms"}
    with runtime.sessions() as db:
        handled = set(db.scalars(select(InboundSms.at_id)
                                 .where(InboundSms.status == InboundStatus.HANDLED)))
        replies = Counter(db.scalars(select(OutboxMessage.msisdn)
                                     .where(OutboxMessage.lane == SendLane.REPLY)))
    assert sms_ids == {sms_vote(m).form["id"] for m in SMS_VOTERS} and sms_ids <= handled
    receipts = [a for a in at.acknowledged if "Vote recorded" in a.body]
    assert {a.callback.form["phoneNumber"] for a in receipts} == set(USSD_VOTERS)
    assert count(runtime, Ballot) == len(USSD_VOTERS) + len(SMS_VOTERS)
    assert count(runtime, Ballot, Ballot.revision != 1) == 0
    assert replies == Counter(dict.fromkeys(USSD_VOTERS + SMS_VOTERS, 1))


def test_redis_killed_during_a_voting_burst(runtime, client, own):
    at = Carrier(client)
    voters = [Voter(at, m) for m in USSD_VOTERS]
    for voter in voters[:3]:
        assert voter.vote().startswith("END Thank you. Your vote is recorded.")
    for voter in voters[3:]:
        voter.vote(until="You chose")  # the confirm screen
    for msisdn in SMS_VOTERS[:3]:
        assert at.post(sms_vote(msisdn)).status == 200  # stored and queued; no worker ran yet

    crash(own.redis)
    # The session store is gone: the hop cannot go on, and says so politely. Nothing stored.
    assert [voter.press("1") for voter in voters[3:]] == [SORRY] * 3
    assert Voter(at, "+254744000099").dial() == SORRY
    # Stored, but not handed to a worker: not a 200, so AT posts it again.
    assert [at.post(sms_vote(m)).status for m in SMS_VOTERS[3:]] == [500] * 3
    assert count(runtime, Ballot) == 3 and count(runtime, InboundSms) == 6

    own.redis.start()  # back, empty; from here on nothing is done by hand
    assert [a.status for a in at.retry()] == [200] * 3  # AT's retries
    for voter in voters[3:]:  # their sessions went with Redis: they dial again
        assert voter.vote().startswith("END Thank you. Your vote is recorded.")
    run_jobs(runtime)
    # The first three were answered 200 and their jobs died with Redis: only the relay (run
    # by every worker at start, see workers/__main__.py) can bring them back.
    with runtime.sessions() as db:
        stuck = db.scalars(select(InboundSms.at_id).where(
            InboundSms.status == InboundStatus.RECEIVED)).all()
    assert sorted(stuck) == sorted(sms_vote(m).form["id"] for m in SMS_VOTERS[:3])
    relayed = inbound_sms.relay_received(runtime.sessions, runtime.dispatcher.handle_inbound_sms,
                                         utcnow() + LATER)
    assert relayed == 3
    run_jobs(runtime)
    assert_nothing_acknowledged_was_lost(runtime, at)


def test_postgres_killed_during_a_voting_burst(runtime, client, own):
    at = Carrier(client)
    voters = [Voter(at, m) for m in USSD_VOTERS]
    for voter in voters[:2]:
        voter.vote()
    for voter in voters[2:4]:
        voter.vote(until="You chose")
    for voter in voters[4:]:
        voter.vote(until="Budget left")
    for msisdn in SMS_VOTERS[:3]:
        assert at.post(sms_vote(msisdn)).status == 200
    run_jobs(runtime)
    with runtime.sessions() as db:
        sent = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()

    crash(own.postgres)
    # Confirming writes the ballot: it cannot, so the hop ends politely and records nothing.
    assert [voter.press("1") for voter in voters[2:4]] == [SORRY] * 2
    # Moving through the ballot needs only the session in Redis: it goes on.
    picked = [voter.press("1") for voter in voters[4:]]
    assert all(screen.startswith("CON Budget left: KES 300K") for screen in picked), picked
    assert Voter(at, "+254744000099").dial() == SORRY  # a new session needs the database too
    # Nothing can be stored: not a 200, so AT posts each again.
    assert [at.post(sms_vote(m)).status for m in SMS_VOTERS[3:]] == [500] * 3
    report = delivery_report(sent.at_message_id, sent.msisdn, "Success")
    assert at.post(report).status == 500
    [ended] = [c for c in ussd_session("ATUid_chaos_ended", USSD_VOTERS[0], [])
               if c.path == "/at/ussd/events"]
    assert at.post(ended).status == 500  # AT's end-of-session notice: AT sends it again
    run_jobs(runtime)  # the worker meets the dead database: its jobs fail, to be retried

    own.postgres.start()  # recovered; from here on nothing is done by hand
    assert [a.status for a in at.retry()] == [200] * 5
    assert count(runtime, UssdSessionEvent) == 1
    for voter, screen in zip(voters[4:], picked, strict=True):  # their sessions went on
        assert voter.go_on(screen).startswith("END Thank you. Your vote is recorded.")
    for voter in voters[2:4]:
        assert voter.vote().startswith("END Thank you. Your vote is recorded.")
    run_jobs(runtime)
    inbound_sms.relay_received(runtime.sessions, runtime.dispatcher.handle_inbound_sms,
                               utcnow() + LATER)
    run_jobs(runtime)
    assert_nothing_acknowledged_was_lost(runtime, at)
    with runtime.sessions() as db:
        assert db.scalar(select(OutboxMessage.delivery_status)
                         .where(OutboxMessage.id == sent.id)) == "Success"


def test_a_worker_killed_during_a_voting_burst(runtime, client, fake_at, at_settings):
    at = Carrier(client)
    for msisdn in SMS_VOTERS:
        assert at.post(sms_vote(msisdn)).status == 200
    fake_at.hang_request(3)  # the third reply to reach AT never gets an answer
    worker = worker_process(at_settings)
    while not fake_at.hanging.wait(0.05):
        assert worker.poll() is None, "the worker ended before the AT call hung"
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-call
    worker.wait()
    assert worker_process(at_settings).wait() == 0  # a new worker does what is left
    outbox_relay.relay(runtime.sessions, runtime.dispatcher, utcnow() + LATER)
    inbound_sms.relay_received(runtime.sessions, runtime.dispatcher.handle_inbound_sms,
                               utcnow() + LATER)
    run_jobs(runtime)

    assert count(runtime, Ballot) == len(SMS_VOTERS)
    assert max(sent_numbers(fake_at).values()) == 1  # nobody got a reply twice
    with runtime.sessions() as db:
        states = Counter(db.scalars(select(OutboxMessage.status)))
    # the call that hung may have reached the phone: kept for a person, never resent
    assert states == Counter({OutboxStatus.SENT: 5, OutboxStatus.UNCERTAIN: 1})


def test_a_hop_does_not_wait_long_on_a_server_that_stopped_answering(at_settings):
    """A frozen server accepts connections and never answers: without these bounds a hop
    waited 5 s on Redis (redis-py's default) and for ever on a new PostgreSQL connection
    (measured figures: the README's Faults)."""
    runtime = build_runtime(at_settings)
    asked: list[dict] = []
    event.listen(runtime.db, "do_connect", lambda _d, _r, _a, params: asked.append(params))
    try:
        options = runtime.redis.connection_pool.connection_kwargs
        assert options["socket_timeout"] == options["socket_connect_timeout"] == REDIS_TIMEOUT
        with runtime.db.connect():
            pass
        assert [params["connect_timeout"] for params in asked] == [CONNECT_TIMEOUT]
        assert REDIS_TIMEOUT + CONNECT_TIMEOUT < 15  # AT allows 15 s for the whole hop
    finally:
        runtime.close()


# -- a campaign send --------------------------------------------------------------------------

OFFICER, APPROVER = "officer@makueni.go.ke", "approver@makueni.go.ke"


def approved_campaign(runtime) -> int:
    """'Budget forum' to every Makueni contact (the twelve voters), approved and queued."""
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        officer, approver = (accounts.create_user(db, email, email.split("@")[0], role, org.id,
                                                  "correct horse battery")
                             for email, role in ((OFFICER, Role.OFFICER),
                                                 (APPROVER, Role.APPROVER)))
        campaign = lifecycle.create(db, org, officer, "Budget forum",
                                    {"en": "Budget forum on Monday. {org}"},
                                    Audience(everyone=True))
        db.flush()
        lifecycle.approve(db, campaign, approver)
        campaign_id, status, materialised = campaign.id, campaign.status, campaign.materialised
    start_work(campaign_jobs(runtime), campaign_id, status, materialised)
    return campaign_id


def work(runtime, **options) -> None:
    try:
        build_worker(runtime, SimpleWorker).work(burst=True, logging_level="WARNING",
                                                 **options)
    finally:
        set_runtime(None)


def recover(runtime) -> None:
    """What the periodic jobs do, run as if later: campaign sweep, outbox relay, then work."""
    later = utcnow() + LOST_AFTER + LATER
    sweep(runtime, campaign_jobs(runtime), later)
    outbox_relay.relay(runtime.sessions, runtime.dispatcher, later)
    work(runtime)
    sweep(runtime, campaign_jobs(runtime), later + LOST_AFTER + LATER)
    work(runtime)


def assert_campaign_sent_once(runtime, fake_at, campaign_id: int, uncertain: int = 0) -> None:
    everyone = set(USSD_VOTERS + SMS_VOTERS)
    with runtime.sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id))
        states = Counter(row.status for row in rows)
    assert campaign.status == CampaignStatus.COMPLETED
    assert states == Counter({OutboxStatus.SENT: len(everyone) - uncertain,
                              OutboxStatus.UNCERTAIN: uncertain} if uncertain
                             else {OutboxStatus.SENT: len(everyone)})
    assert set(sent_numbers(fake_at)) == everyone
    assert max(sent_numbers(fake_at).values()) == 1


def test_a_campaign_whose_worker_is_killed_mid_send(runtime, fake_at, at_settings,
                                                    monkeypatch):
    monkeypatch.setenv("CAMPAIGN_HOURS", OPEN_ALWAYS)
    campaign_id = approved_campaign(runtime)
    fake_at.hang_request(2)  # batches of two: the second batch's call hangs
    worker = worker_process(at_settings)
    while not fake_at.hanging.wait(0.05):
        assert worker.poll() is None, "the worker ended before the AT call hung"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert worker_process(at_settings).wait() == 0
    recover(runtime)
    assert_campaign_sent_once(runtime, fake_at, campaign_id, uncertain=2)


def test_a_campaign_when_redis_restarts_mid_send(runtime, own, fake_at):
    campaign_id = approved_campaign(runtime)
    work(runtime, max_jobs=2)  # materialised, and the first wave handed to the queue
    crash(own.redis)
    own.redis.start()  # the wave's send jobs are gone
    work(runtime)
    assert fake_at.requests == []
    recover(runtime)
    assert_campaign_sent_once(runtime, fake_at, campaign_id)


def test_a_campaign_when_postgres_restarts_mid_send(runtime, own, fake_at):
    campaign_id = approved_campaign(runtime)
    work(runtime, max_jobs=2)
    crash(own.postgres)
    work(runtime)  # every job fails on the dead database; rq keeps them for a retry
    assert fake_at.requests == []
    own.postgres.start()
    recover(runtime)
    assert_campaign_sent_once(runtime, fake_at, campaign_id)
