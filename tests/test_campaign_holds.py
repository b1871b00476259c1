"""A campaign against AT's account-wide refusals and DND, per-organization sending hours, the
dev stack's housekeeping and the CLI's progress bar. Real rq workers, PostgreSQL/SQLite,
Redis and the local fake AT server; clocks are fixed where the hour matters."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select, update

from app.campaigns import lifecycle
from app.campaigns.audience import Audience
from app.campaigns.materialise import RESCAN_AFTER, advance, materialise
from app.campaigns.quiet_hours import (
    Window,
    seconds_until_next_window,
    window_for,
)
from app.campaigns.runner import campaign_jobs, sending_window, start_work, sweep, wave_size
from app.db.base import utcnow
from app.db.models import (
    AuditEntry,
    Campaign,
    OutboxMessage,
    OutboxStatus,
    Role,
    SendLane,
)
from app.runtime import build_runtime
from app.services import accounts, contacts, dispatch, outbox, outbox_housekeeping, outbox_relay
from app.services.dispatch import CAMPAIGNS
from app.services.organizations import organization_by_code
from app.services.sms_sender import RETRY_DELAYS, SmsSender
from tests.factories import add_counties
from tests.pmc_support import ok, run
from tests.sms_support import run_jobs
from tests.test_sms_durability import work, worker_process
from workers.context import set_runtime

prod_only = pytest.mark.parametrize("stack", ["prod"])
OFFICER, APPROVER = "officer@makueni.go.ke", "approver@makueni.go.ke"
NUMBERS = [f"+2547330001{n:02d}" for n in range(6)]
OPEN_ALWAYS = "00:00-00:00"
MESSAGE = {"en": "Budget forum at Wote on Monday. {org}"}  # one body: batches of 2


@pytest.fixture
def at_settings(at_settings):
    """conftest's, in batches of two: a few recipients make several AT requests."""
    return at_settings.with_overrides(sms_batch_size=2)


@pytest.fixture
def runtime(at_settings):
    runtime = build_runtime(at_settings)
    add_counties(runtime)
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        org.campaign_hours = OPEN_ALWAYS  # the setting (08:00-18:00) would follow the wall clock
        for email, role in ((OFFICER, Role.OFFICER), (APPROVER, Role.APPROVER)):
            accounts.create_user(db, email, email.split("@")[0], role, org.id, "x" * 12)
        for msisdn in NUMBERS:
            contacts.ensure_contact(db, org.id, msisdn).language = "en"
    yield runtime
    set_runtime(None)
    runtime.close()


def _step(runtime, step, campaign_id: int, email: str) -> None:
    """A lifecycle step committed, then its background work queued (as the CLI does)."""
    with runtime.sessions.begin() as db:
        campaign = db.get(Campaign, campaign_id)
        step(db, campaign, accounts.user_by_email(db, email))
        status, materialised = str(campaign.status), campaign.materialised
    start_work(campaign_jobs(runtime), campaign_id, status, materialised)


def _campaign(runtime) -> int:
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        campaign_id = lifecycle.create(db, org, accounts.user_by_email(db, OFFICER), "Forum",
                                       MESSAGE, Audience(everyone=True)).id
    _step(runtime, lifecycle.approve, campaign_id, APPROVER)
    return campaign_id


def _rows(runtime, campaign_id: int) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        return list(db.scalars(select(OutboxMessage).where(
            OutboxMessage.campaign_id == campaign_id).order_by(OutboxMessage.msisdn)))


def _status(runtime, campaign_id: int) -> str:
    with runtime.sessions() as db:
        return str(db.get(Campaign, campaign_id).status)


def _requested(fake_at) -> Counter[str]:
    return Counter(number for request in fake_at.requests for number in request.to)


@prod_only
@pytest.mark.parametrize("code, reason", [(401, "RiskHold"), (402, "InvalidSenderId"),
                                          (405, "InsufficientBalance")])
def test_an_account_refusal_pauses_the_campaign_and_resume_sends_each_once(
        runtime, fake_at, caplog, code, reason):
    fake_at.answer(NUMBERS[2], code)  # the second request, [2, 3]; the third, [4, 5], never goes
    campaign_id = _campaign(runtime)
    with caplog.at_level(logging.ERROR, logger="app.campaigns.holds"):
        run_jobs(runtime)  # materialise, one send job of 3 batches, the next advance
    assert _status(runtime, campaign_id) == "paused"
    states = {r.msisdn: (r.status, r.attempts) for r in _rows(runtime, campaign_id)}
    assert states == {**dict.fromkeys(NUMBERS[:2] + NUMBERS[3:4], (OutboxStatus.SENT, 1)),
                      **dict.fromkeys(NUMBERS[2:3] + NUMBERS[4:], (OutboxStatus.QUEUED, 0))}
    assert _requested(fake_at) == Counter(NUMBERS[:4])  # the third job called nobody
    [alert] = [r for r in caplog.records if r.levelno == logging.ERROR
               and r.name == "app.campaigns.holds"]
    text = alert.getMessage()
    assert reason in text and f"campaign resume {campaign_id} --org makueni" in text
    assert "+2547****0102" in text and NUMBERS[2] not in text
    with runtime.sessions() as db:
        assert db.scalar(select(AuditEntry.detail).where(
            AuditEntry.action == "campaign.hold")) == {"reason": reason}

    sweep(runtime, campaign_jobs(runtime), utcnow() + timedelta(hours=1))
    run_jobs(runtime)  # the sweep leaves a paused campaign alone
    assert _requested(fake_at) == Counter(NUMBERS[:4])
    _step(runtime, lifecycle.resume, campaign_id, OFFICER)  # after the top-up / the fix
    run_jobs(runtime)
    assert _status(runtime, campaign_id) == "completed"
    assert {(r.status, r.attempts) for r in _rows(runtime, campaign_id)} == \
        {(OutboxStatus.SENT, 1)}
    assert _requested(fake_at) == Counter({**dict.fromkeys(NUMBERS, 1), NUMBERS[2]: 2})


@prod_only
def test_a_send_job_queued_before_a_pause_sends_nothing_and_resume_sends_each_once(
        runtime, fake_at):
    campaign_id = _campaign(runtime)
    work(runtime, max_jobs=2)  # materialise, then the wave handed over (one send job)
    _step(runtime, lifecycle.pause, campaign_id, OFFICER)
    run_jobs(runtime)  # the send jobs run after the pause
    assert fake_at.requests == []
    assert {(r.status, r.attempts) for r in _rows(runtime, campaign_id)} == \
        {(OutboxStatus.QUEUED, 0)}
    _step(runtime, lifecycle.resume, campaign_id, APPROVER)
    run_jobs(runtime)
    assert _status(runtime, campaign_id) == "completed"
    assert _requested(fake_at) == Counter(NUMBERS)


NAIROBI_1759 = datetime(2026, 11, 23, 14, 59, tzinfo=UTC)  # 17:59 in Nairobi
NAIROBI_1000 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_dnd_refusals_wait_for_the_organizations_next_window(runtime, fake_at):
    with runtime.sessions.begin() as db:
        organization_by_code(db, "makueni").campaign_hours = None  # the setting: 08:00-18:00
        organization_by_code(db, "nandi").campaign_hours = "07:00-19:00"
        makueni, nandi = (organization_by_code(db, c).id for c in ("makueni", "nandi"))
        ids = {lane: outbox.queue_sms(db, org_id, n, "Hello", lane)
               for lane, org_id, n in ((SendLane.CAMPAIGN, makueni, NUMBERS[0]),
                                       (SendLane.NOTICE, nandi, NUMBERS[1]),
                                       (SendLane.REPLY, makueni, NUMBERS[2]))}
    for number in NUMBERS[:3]:
        fake_at.answer(number, 409, 409)
    delays = {}
    for now in (NAIROBI_1759, NAIROBI_1000):
        sender = SmsSender(runtime.sessions, runtime.sms_sender.backend, batch_size=2,
                           clock=lambda now=now: now)
        report = sender.send(ids.values())  # the second time: the retries, sent early
        delays[now] = {retry.lane: retry.delay for retry in report.retries}
    hours = 3600
    assert delays[NAIROBI_1759] == {SendLane.CAMPAIGN: 14 * hours + 60,  # 08:00 tomorrow
                                    SendLane.NOTICE: 13 * hours + 60,  # Nandi's 07:00
                                    SendLane.REPLY: RETRY_DELAYS[0]}  # exempt: the backoff
    # Refused inside the window: the next window, not minutes later in this one.
    assert delays[NAIROBI_1000] == {SendLane.CAMPAIGN: 22 * hours, SendLane.NOTICE: 21 * hours,
                                    SendLane.REPLY: RETRY_DELAYS[1]}
    with runtime.sessions() as db:
        campaign_row = db.get(OutboxMessage, ids[SendLane.CAMPAIGN])
    assert campaign_row.next_attempt_at == NAIROBI_1000 + timedelta(hours=22)
    assert (campaign_row.status, campaign_row.status_code) == (OutboxStatus.QUEUED, 409)


def test_dnd_retry_is_scheduled_by_the_dispatcher_after_the_window_delay(runtime, fake_at):
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        org.campaign_hours = "08:00-18:00"
        [message_id] = [outbox.queue_sms(db, org.id, NUMBERS[0], "Hi", SendLane.CAMPAIGN)]
    fake_at.answer(NUMBERS[0], 409)
    handed = []

    class Recorder:
        def send_sms(self, outbox_ids, lane, delay=0):
            handed.append((list(outbox_ids), lane, delay))

    sender = SmsSender(runtime.sessions, runtime.sms_sender.backend,
                       clock=lambda: NAIROBI_1759)
    dispatch.send_sms(sender, Recorder(), [message_id])
    assert handed == [([message_id], SendLane.CAMPAIGN, 14 * 3600 + 60)]


def test_quiet_hours_windows_parse_strictly_and_the_next_window_is_after_the_current():
    for bad in ("8-18", "08:00", "8:00-18:00", "24:00-06:00", "08:00-18:00-20:00", "", "x-y"):
        with pytest.raises(ValueError, match="looks like 08:00-18:00"):
            Window.parse(bad)
    assert str(Window.parse(" 07:30 - 19:00 ")) == "07:30-19:00"
    assert window_for(None, "08:00-18:00") == window_for("bad", "08:00-18:00") == \
        Window.parse("08:00-18:00")
    assert window_for("06:00-21:00", "08:00-18:00") == Window.parse("06:00-21:00")
    tz = "Africa/Nairobi"
    assert seconds_until_next_window(NAIROBI_1000, tz, "08:00-18:00") == 22 * 3600
    assert seconds_until_next_window(NAIROBI_1000, tz, "20:00-06:00") == 10 * 3600
    assert seconds_until_next_window(NAIROBI_1000, tz, OPEN_ALWAYS) is None


def test_an_organizations_own_hours_win_over_the_setting(runtime):
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        org.campaign_hours = "06:00-21:00"
        campaign_id = lifecycle.create(db, org, accounts.user_by_email(db, OFFICER), "Forum",
                                       MESSAGE, Audience(everyone=True)).id
        lifecycle.approve(db, db.get(Campaign, campaign_id),
                          accounts.user_by_email(db, APPROVER))
    materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for)
    window = sending_window(runtime.sessions, campaign_id, "08:00-18:00")
    assert window == Window.parse("06:00-21:00")
    handed = []

    class Recorder:
        def send_sms(self, outbox_ids, lane, delay=0):
            handed.append(list(outbox_ids))

    seven_pm = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # closed by the setting, open here
    assert advance(runtime.sessions, Recorder(), campaign_id, seven_pm, window) == 0
    assert len(handed[0]) == len(NUMBERS)
    with runtime.sessions.begin() as db:
        organization_by_code(db, "makueni").campaign_hours = None
    assert sending_window(runtime.sessions, campaign_id, "08:00-18:00") == \
        Window.parse("08:00-18:00")


def test_cli_shows_sets_and_refuses_campaign_hours(runtime, monkeypatch):
    runtime.settings = runtime.settings.with_overrides(campaign_hours="08:00-18:00")
    shown = ok(run(runtime, monkeypatch, "sms", "hours", "--org", "nandi"))
    assert "nandi: campaigns send 08:00-18:00 local time (CAMPAIGN_HOURS)" in shown.output
    ok(run(runtime, monkeypatch, "sms", "hours", "--org", "nandi", "07:00-19:30"))
    shown = ok(run(runtime, monkeypatch, "sms", "hours", "--org", "nandi"))
    assert "07:00-19:30 local time (its own)" in shown.output
    bad = run(runtime, monkeypatch, "sms", "hours", "--org", "nandi", "7am-7pm")
    assert bad.exit_code != 0 and "looks like 08:00-18:00" in bad.output
    ok(run(runtime, monkeypatch, "sms", "hours", "--org", "nandi", "--default"))
    with runtime.sessions() as db:
        assert organization_by_code(db, "nandi").campaign_hours is None


@pytest.mark.parametrize("stack", ["dev"])
def test_dev_housekeeping_sends_what_a_stopped_process_left_behind(runtime):
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        ids = [outbox.queue_sms(db, org.id, n, "Notice", SendLane.NOTICE)
               for n in NUMBERS[:3]]
        # The process stopped before the first one's batch (queued), during the second
        # one's AT call (calling), ...
        outbox.claim(db, outbox.queued(db, ids[1:2]))
        db.execute(update(OutboxMessage).where(OutboxMessage.id == ids[2])
                   .values(next_attempt_at=utcnow()))  # ... or its retry timer died with it
    fresh = outbox_housekeeping.housekeeping_pass(runtime)
    assert fresh.relayed.handed_on == 0  # a live process may still hold these
    later = outbox_housekeeping.housekeeping_pass(runtime, utcnow() + timedelta(hours=1))
    assert (later.relayed.uncertain, later.relayed.handed_on) == (1, 2)
    with runtime.sessions() as db:
        statuses = db.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert statuses == [OutboxStatus.SENT, OutboxStatus.UNCERTAIN, OutboxStatus.SENT]


@pytest.mark.parametrize("stack", ["dev"])
def test_serve_without_redis_starts_the_housekeeping_thread(runtime, monkeypatch):
    passes = threading.Event()
    started = []
    start = outbox_housekeeping.start_housekeeping
    monkeypatch.setattr(outbox_housekeeping, "start_housekeeping",
                        lambda runtime: started.append(start(runtime)) or started[-1])
    monkeypatch.setattr(outbox_housekeeping, "housekeeping_pass",
                        lambda runtime, now=None: passes.set())
    monkeypatch.setattr("flask.Flask.run", lambda self, **kwargs: None)
    monkeypatch.setattr("app.cli.serve.load_settings", lambda: runtime.settings)
    ok(run(runtime, monkeypatch, "serve"))
    try:
        assert passes.wait(30)  # the first pass runs at once
    finally:
        for stop in started:
            stop.set()
    assert len(started) == 1


@prod_only
def test_cli_follow_draws_the_progress_bar_until_the_campaign_completes(runtime, fake_at,
                                                                          monkeypatch):
    campaign_id = _campaign(runtime)
    work(runtime, max_jobs=2)  # materialise, then the wave handed over (one send job)
    monkeypatch.setattr("app.cli.sms.time.sleep", lambda seconds: work(runtime, max_jobs=1))
    shown = ok(run(runtime, monkeypatch, "sms", "campaign", "status", campaign_id,
                   "--org", "makueni", "--follow", "--interval", "0"))
    frames = [f for f in shown.output.replace("\n", "\r").split("\r") if f]
    assert frames == [  # one frame per job the worker ran in between
        "[" + "-" * 30 + "]   0% sending: 6 recipients, 6 queued, 0 sent, 0 delivered, "
        "0 failed, 0 suppressed, 0 cancelled",
        "[" + "#" * 30 + "] 100% sending: 6 recipients, 0 queued, 6 sent, 0 delivered, "
        "0 failed, 0 suppressed, 0 cancelled",
        "[" + "#" * 30 + "] 100% completed: 6 recipients, 0 queued, 6 sent, 0 delivered, "
        "0 failed, 0 suppressed, 0 cancelled"]
    assert shown.output.endswith("\n") and shown.output.count("\n") == 1


def test_a_wave_is_one_job_of_at_most_fifty_batches_or_ten_seconds_at_the_rate_limit():
    assert wave_size(100, 0) == 5000  # no rate limit: 50 AT requests
    assert wave_size(100, 50) == 500  # 50 messages a second: 10 s of sending
    assert wave_size(100, 5) == 100  # never less than one batch
    assert wave_size(2, 50) == 100


@prod_only
def test_a_worker_killed_mid_wave_sends_no_campaign_recipient_twice(runtime, at_settings,
                                                                      fake_at):
    campaign_id = _campaign(runtime)
    work(runtime, max_jobs=2)  # materialise, then the wave: one send job of 3 batches
    fake_at.hang_request(2)  # the wave's second AT request never gets an answer
    worker = worker_process(at_settings)
    while not fake_at.hanging.wait(0.05):
        assert worker.poll() is None, "the worker ended before the AT call hung"
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-call
    worker.wait()
    states = {r.msisdn: r.status for r in _rows(runtime, campaign_id)}
    assert [states[n] for n in NUMBERS] == [OutboxStatus.SENT] * 2 + \
        [OutboxStatus.CALLING] * 2 + [OutboxStatus.QUEUED] * 2

    relayed = outbox_relay.relay(runtime.sessions, runtime.dispatcher,
                                 utcnow() + timedelta(hours=1))
    assert (relayed.uncertain, relayed.handed_on) == (2, 0)  # queued ones: the campaign's
    # Restarted: the next advance finds the wave handed over and its last rows still queued,
    # and hands them over again after a while.
    assert worker_process(at_settings).wait() == 0
    assert _status(runtime, campaign_id) == "sending"
    registry = Queue(CAMPAIGNS, connection=runtime.redis).scheduled_job_registry
    [job_id] = registry.get_job_ids()
    due = registry.get_scheduled_time(Job.fetch(job_id, connection=runtime.redis))
    assert 0 < (due - datetime.now(UTC)).total_seconds() <= RESCAN_AFTER
    registry.schedule(Job.fetch(job_id, connection=runtime.redis),
                      datetime(2000, 1, 1, tzinfo=UTC))  # due now, without waiting
    work(runtime, with_scheduler=True)

    assert max(_requested(fake_at).values()) == 1
    final = {r.msisdn: r.status for r in _rows(runtime, campaign_id)}
    assert final == {**dict.fromkeys(NUMBERS[:2] + NUMBERS[4:], OutboxStatus.SENT),
                     **dict.fromkeys(NUMBERS[2:4], OutboxStatus.UNCERTAIN)}
    assert _status(runtime, campaign_id) == "completed"


@prod_only
def test_a_refusal_of_a_late_retry_reopens_a_completed_campaign(runtime, fake_at):
    fake_at.answer(NUMBERS[0], 500, 405)  # a retry is pending when the last wave completes
    campaign_id = _campaign(runtime)
    run_jobs(runtime)
    assert _status(runtime, campaign_id) == "completed"
    [retry] = [r for r in _rows(runtime, campaign_id) if r.status == OutboxStatus.QUEUED]
    runtime.sms_sender.send([retry.id])  # the retry's delayed job, when due: 405 this time
    assert _status(runtime, campaign_id) == "paused"  # not left queued with nobody to send it
    _step(runtime, lifecycle.resume, campaign_id, OFFICER)
    run_jobs(runtime)
    assert _status(runtime, campaign_id) == "completed"
    assert {r.status for r in _rows(runtime, campaign_id)} == {OutboxStatus.SENT}
    assert _requested(fake_at) == Counter({**dict.fromkeys(NUMBERS, 1), NUMBERS[0]: 3})
