"""The outbound pipeline survives what production does to it: workers killed mid-call, Redis
restarted, AT answering every status code, timing out or failing. Real rq workers, real
PostgreSQL and Redis, the local fake AT server; nothing waits on the wall clock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.channels.at_sms import AtSmsBackend
from app.db.base import utcnow
from app.db.models import OutboxMessage, OutboxStatus, SendLane
from app.runtime import build_runtime
from app.services import outbox, outbox_relay
from app.services.dispatch import NOTICES, SEND_JOB
from app.services.organizations import organization_by_code
from app.services.send_rate import SendRateLimiter
from app.services.sms_sender import RETRY_DELAYS, SmsSender
from tests import servers
from tests.factories import add_counties
from workers.__main__ import build_worker
from workers.context import set_runtime

prod_only = pytest.mark.parametrize("stack", ["prod"])  # PostgreSQL + Redis only
NUMBERS = [f"+2547220001{n:02d}" for n in range(5)]
LATER = timedelta(hours=1)  # "the relay ran an hour later": every row counts as stale


@pytest.fixture
def at_settings(at_settings):
    """conftest's, in batches of two: a few recipients make several AT requests."""
    return at_settings.with_overrides(sms_batch_size=2)


@pytest.fixture
def runtime(at_settings):
    runtime = build_runtime(at_settings)
    add_counties(runtime)
    yield runtime
    set_runtime(None)
    runtime.close()


def queue(runtime, *msisdns: str, lane: SendLane = SendLane.NOTICE) -> list[int]:
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        return [outbox.queue_sms(db, org.id, m, "Mkutano wa bajeti kesho", lane)
                for m in msisdns]


def rows(runtime) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def work(runtime, **options) -> None:
    try:
        build_worker(runtime, SimpleWorker).work(burst=True, logging_level="WARNING",
                                                 **options)
    finally:
        set_runtime(None)


def sent_numbers(fake_at) -> Counter[str]:
    return Counter(number for request in fake_at.requests for number in request.to)


def worker_process(settings) -> subprocess.Popen[bytes]:
    """`python -m workers --burst`, as production runs it (forking work horses), in its own
    process group so that killing it kills the horse too."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "AT_USERNAME": settings.at_username, "AT_API_KEY": settings.at_api_key,
           "AT_API_URL": settings.at_api_url, "SMS_BATCH_SIZE": str(settings.sms_batch_size)}
    return subprocess.Popen([sys.executable, "-m", "workers", "--burst"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@prod_only
def test_a_worker_killed_during_an_at_call_sends_nothing_twice_and_loses_nothing(
        runtime, at_settings, fake_at):
    ids = queue(runtime, *NUMBERS)  # batches of 2: [0, 1] [2, 3] [4]
    Queue(NOTICES, connection=runtime.redis).enqueue(SEND_JOB, ids)  # one job, three batches
    fake_at.hang_request(2)  # the second AT request never gets an answer
    worker = worker_process(at_settings)
    while not fake_at.hanging.wait(0.05):
        assert worker.poll() is None, "the worker ended before the AT call hung"
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-call
    worker.wait()

    states = [r.status for r in rows(runtime)]
    assert states == [OutboxStatus.SENT] * 2 + [OutboxStatus.CALLING] * 2 + [OutboxStatus.QUEUED]

    relayed = outbox_relay.relay(runtime.sessions, runtime.dispatcher, utcnow() + LATER)
    assert (relayed.uncertain, relayed.handed_on) == (2, 1)

    restarted = worker_process(at_settings)
    assert restarted.wait() == 0

    assert max(sent_numbers(fake_at).values()) == 1  # no number reached AT twice
    assert set(sent_numbers(fake_at)) == set(NUMBERS)
    final = {r.msisdn: r.status for r in rows(runtime)}
    assert final == {NUMBERS[0]: OutboxStatus.SENT, NUMBERS[1]: OutboxStatus.SENT,
                     NUMBERS[2]: OutboxStatus.UNCERTAIN, NUMBERS[3]: OutboxStatus.UNCERTAIN,
                     NUMBERS[4]: OutboxStatus.SENT}
    # Later runs of the relay leave uncertain rows alone: only a person or a report moves them.
    outbox_relay.relay(runtime.sessions, runtime.dispatcher, utcnow() + 2 * LATER)
    work(runtime)
    assert max(sent_numbers(fake_at).values()) == 1


@prod_only
def test_the_relay_leaves_fresh_rows_alone(runtime, fake_at):
    ids = queue(runtime, *NUMBERS[:2])
    with runtime.sessions.begin() as db:
        outbox.claim(db, outbox.queued(db, ids[:1]))
    assert outbox_relay.relay(runtime.sessions, runtime.dispatcher) == outbox_relay.Relayed()
    assert [r.status for r in rows(runtime)] == [OutboxStatus.CALLING, OutboxStatus.QUEUED]


@prod_only
def test_a_row_the_relay_handed_on_is_not_sent_by_its_first_worker(runtime, fake_at):
    [message_id] = queue(runtime, NUMBERS[0])
    with runtime.sessions.begin() as db:  # a worker read it, then stalled before its batch
        [read] = outbox.queued(db, [message_id])
    relayed = outbox_relay.relay(runtime.sessions, runtime.dispatcher, utcnow() + LATER)
    assert relayed.handed_on == 1
    work(runtime)  # the relay's job sends it
    with runtime.sessions.begin() as db:  # the first worker wakes up and claims its batch
        assert outbox.claim(db, [read]) == set()
    assert sent_numbers(fake_at) == Counter({NUMBERS[0]: 1})


@prod_only
def test_work_finishes_after_redis_restarts_mid_run(at_settings, fake_at, tmp_path):
    redis_server = servers.RedisServer(tmp_path / "redis")
    redis_server.start()
    try:
        runtime = build_runtime(at_settings.with_overrides(redis_url=redis_server.url))
        add_counties(runtime)
        fake_at.answer(NUMBERS[4], 500)  # its retry is a delayed job: lost with Redis too
        ids = queue(runtime, *NUMBERS)
        runtime.dispatcher.send_sms(ids, SendLane.NOTICE)  # jobs of 2, 2 and 1
        work(runtime, max_jobs=1)  # one job done, then Redis goes away with the rest
        redis_server.stop()
        redis_server.start()  # back, empty: nothing persisted
        runtime.redis.connection_pool.disconnect()
        assert Queue(NOTICES, connection=runtime.redis).count == 0
        assert [r.status for r in rows(runtime)].count(OutboxStatus.QUEUED) == 3

        relayed = outbox_relay.relay(runtime.sessions, runtime.dispatcher, utcnow() + LATER)
        assert relayed.handed_on == 3
        work(runtime)
        retry_due = utcnow() + timedelta(seconds=RETRY_DELAYS[0]) + LATER
        redis_server.stop()  # and once more, losing the scheduled retry
        redis_server.start()
        runtime.redis.connection_pool.disconnect()
        outbox_relay.relay(runtime.sessions, runtime.dispatcher, retry_due)
        work(runtime)

        assert {r.status for r in rows(runtime)} == {OutboxStatus.SENT}
        assert sent_numbers(fake_at) == Counter({**dict.fromkeys(NUMBERS[:4], 1),
                                                 NUMBERS[4]: 2})  # 500, then accepted
        runtime.close()
    finally:
        set_runtime(None)
        redis_server.stop()


@prod_only
def test_every_at_status_code_through_a_real_worker(runtime, fake_at):
    codes = {"+254722000201": 101, "+254722000202": 102, "+254722000203": 401,
             "+254722000204": 402, "+254722000205": 403, "+254722000206": 404,
             "+254722000207": 405, "+254722000208": 406, "+254722000209": 407,
             "+254722000210": 409, "+254722000211": 500, "+254722000212": 501,
             "+254722000213": 502}
    for number, code in codes.items():
        fake_at.answer(number, code)
    ids = queue(runtime, *codes)
    runtime.dispatcher.send_sms(ids, SendLane.NOTICE)
    work(runtime)
    by_code = {codes[r.msisdn]: (r.status, r.status_code) for r in rows(runtime)}
    expected = {101: OutboxStatus.SENT, 102: OutboxStatus.SENT, 401: OutboxStatus.FAILED,
                402: OutboxStatus.FAILED, 403: OutboxStatus.FAILED, 404: OutboxStatus.FAILED,
                405: OutboxStatus.QUEUED, 406: OutboxStatus.SUPPRESSED,
                407: OutboxStatus.FAILED, 409: OutboxStatus.QUEUED, 500: OutboxStatus.QUEUED,
                501: OutboxStatus.QUEUED, 502: OutboxStatus.FAILED}
    assert by_code == {code: (status, code) for code, status in expected.items()}
    retrying = [r for r in rows(runtime) if r.status == OutboxStatus.QUEUED]
    assert all(r.next_attempt_at is not None for r in retrying)
    assert Queue(NOTICES, connection=runtime.redis).scheduled_job_registry.count >= 1


@prod_only
def test_a_timeout_and_a_gateway_failure_through_a_real_worker(runtime, fake_at):
    runtime.sms_sender.backend = AtSmsBackend.connect(
        fake_at.username, fake_at.api_key, fake_at.url, timeout=(2, 0.5))
    fake_at.fail_next(502, "Bad Gateway")  # no recipient judged: nothing accepted, retry
    fake_at.hang_next()  # then the retry's answer never comes: may have been sent
    [message_id] = queue(runtime, NUMBERS[0])
    runtime.dispatcher.send_sms([message_id], SendLane.NOTICE)
    work(runtime)
    assert [(r.status, r.error) for r in rows(runtime)] == [
        (OutboxStatus.QUEUED, "AT: Bad Gateway")]
    outbox_relay.relay(runtime.sessions, runtime.dispatcher,
                       utcnow() + timedelta(seconds=RETRY_DELAYS[0]) + LATER)
    work(runtime)
    assert [(r.status, r.error) for r in rows(runtime)] == [
        (OutboxStatus.UNCERTAIN, "network: ReadTimeout")]
    work(runtime)
    assert len(fake_at.requests) == 2


@prod_only
def test_an_empty_balance_pauses_the_campaign_lane(runtime, fake_at):
    paused = []
    sender = SmsSender(runtime.sessions, runtime.sms_sender.backend, batch_size=2,
                       on_pause=paused.append)
    fake_at.answer(NUMBERS[0], 405)
    ids = queue(runtime, *NUMBERS[:4], lane=SendLane.CAMPAIGN)
    report = sender.send(ids)
    assert (report.sent, report.retries) == (1, ())  # the number next to it went out
    assert sorted(report.paused) == sorted([ids[0], *ids[2:]]) and paused == [report.paused]
    assert [(r.status, r.attempts) for r in rows(runtime)] == [
        (OutboxStatus.QUEUED, 0), (OutboxStatus.SENT, 1), (OutboxStatus.QUEUED, 0),
        (OutboxStatus.QUEUED, 0)]
    assert len(fake_at.requests) == 1  # the second batch was not attempted
    # The campaign's rows are the campaign runner's to resume, not the relay's.
    assert outbox_relay.relay(runtime.sessions, runtime.dispatcher,
                              utcnow() + LATER).handed_on == 0
    assert sender.send(ids).sent == 3  # after a top-up


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@prod_only
def test_the_rate_limit_is_shared_by_workers_through_redis(runtime):
    clock = Clock()
    workers = [SendRateLimiter(runtime.redis, 5, clock.time, clock.sleep) for _ in range(2)]
    workers[0].acquire("40014", 3)
    workers[1].acquire("40014", 3)  # 2 fit in this second, 1 waits for the next
    assert clock.slept == [1.0]
    workers[1].acquire("1548", 5)  # another sender has its own budget
    assert clock.slept == [1.0]
    workers[0].acquire("40014", 12)  # more than a second's worth: spread over three
    assert len(clock.slept) == 3


def test_without_redis_the_rate_limit_does_nothing():
    clock = Clock()
    SendRateLimiter(None, 1, clock.time, clock.sleep).acquire("40014", 100)
    SendRateLimiter(Redis(port=servers.free_port()), 1, clock.time, clock.sleep).acquire(
        "40014", 100)  # Redis unreachable: sending matters more than pacing
    assert clock.slept == []
