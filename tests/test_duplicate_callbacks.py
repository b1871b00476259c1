"""Every AT callback twice, some out of order: ballots, reports, messages and delivery states
come out exactly as if AT had delivered each once, in order (tests/at_replay.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.db.models import (
    Ballot,
    DeliveryReport,
    InboundSms,
    OutboxMessage,
    OutboxStatus,
    ProgressReport,
    SendLane,
    SmsSuppression,
    Ticket,
    UssdSessionEvent,
    VoiceCall,
)
from app.runtime import build_runtime
from app.services import contacts, places
from app.services.organizations import organization_by_code
from app.services.outbox import queue_sms
from tests import pmc_support
from tests.at_replay import (
    Callback,
    deliver,
    delivery_report,
    inbound_sms,
    opt_out,
    schedule,
    ussd_session,
    voice_complaint,
)
from tests.pb_support import add_cycle
from tests.pmc_support import import_fixtures
from tests.sms_support import run_jobs
from workers.context import set_runtime

FIRST_TIME = ("1", "2", "4", "1")  # vote, sub-county 86, Tulimani ward, yes
USSD_VOTES = {  # msisdn: the rest of the session (pick, done, confirm, no survey)
    "+254733000001": ("1", "99", "1", "2"),
    "+254733000002": ("98", "2", "3", "99", "1", "2"),
    "+254733000003": ("1", "98", "3", "99", "1", "2"),
    "+254733000004": ("98", "2", "99", "1", "2"),
}
SMS_VOTES = {"+254733000011": "VOTE 1 3", "+254733000012": "VOTE 2", "+254733000013": "vote 4"}
CHAIR, SECRETARY = "+254712345001", "+254712345002"  # tests/data/makueni_pmc.csv, MK-101
PMC_REPORTS = {CHAIR: "PMC MK-101 60 ONTRACK culvert done",
               SECRETARY: "PMC MK-101 55 ATRISK pipes late"}
RESIDENT = "+254733000021"
USSD_COMPLAINER, SMS_COMPLAINER, CALLER = "+254733000031", "+254733000032", "+254733000033"
# AT's opt-out notification; STOP; STOP then START, in that order
OPTED_OUT, STOPPER, RESTARTER = "+254733000041", "+254733000042", "+254733000043"
RECORDING = "https://voice.africastalking.com/recordings/ATVId_dup.mp3"
# service delivery, in my ward (Tulimani), the text (a `*` in it too), confirm
USSD_COMPLAINT = ("3", "1", "1", "1", "No water*at Tulimani market", "1")
SEEDS = [1, 2]


@pytest.fixture
def runtime(settings, fake_at, monkeypatch):
    """Replies really go out (to the fake AT), so delivery reports have ids to name."""
    runtime = build_runtime(settings.with_overrides(
        at_username=fake_at.username, at_api_key=fake_at.api_key, at_api_url=fake_at.url))
    fixture = add_cycle(runtime)
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        # the projects' wards; 0437 is already Kasikeu in the voting fixture
        places.import_kenya_wards(db, org.id, [w for w in pmc_support.WARDS
                                               if w["ward_code"] != "0437"], "Makueni")
        for msisdn in [*USSD_VOTES, *SMS_VOTES, RESIDENT, USSD_COMPLAINER, SMS_COMPLAINER]:
            contact = contacts.ensure_contact(db, org.id, msisdn)
            contact.language = "en"
            if msisdn in SMS_VOTES or msisdn == USSD_COMPLAINER:
                contact.ward_id = fixture.ward_ids["0431"]
    import_fixtures(runtime, monkeypatch)
    yield runtime
    set_runtime(None)
    runtime.close()


def traffic() -> list[Callback]:
    """A morning of a budget vote: USSD and SMS votes, PMC reports, complaints, keywords and
    a stray SMS."""
    callbacks = []
    for n, (msisdn, rest) in enumerate(USSD_VOTES.items()):
        callbacks += ussd_session(f"ATUid_dup_{n}", msisdn, [*FIRST_TIME, *rest])
    callbacks += ussd_session("ATUid_dup_complaint", USSD_COMPLAINER, USSD_COMPLAINT)
    callbacks += voice_complaint("ATVId_dup", CALLER, RECORDING)  # Nandi's feedback line
    texts = [*SMS_VOTES.items(), *PMC_REPORTS.items(), (RESIDENT, "HELP"),
             (RESIDENT, "LANG SW"), (SMS_COMPLAINER, "COMPLAIN No water at Kalawa market")]
    callbacks += [inbound_sms(f"ATXid_dup_{n}", msisdn, text)
                  for n, (msisdn, text) in enumerate(texts)]
    callbacks.append(inbound_sms("ATXid_dup_nandi", RESIDENT, "HELP", to="99999"))  # not ours
    callbacks += [opt_out(OPTED_OUT), inbound_sms("ATXid_dup_stop", STOPPER, "STOP"),
                  inbound_sms("ATXid_dup_stop2", RESTARTER, "STOP", thread=RESTARTER),
                  inbound_sms("ATXid_dup_start", RESTARTER, "START", thread=RESTARTER)]
    return callbacks


def play(client, runtime, callbacks: list[Callback], seed: int) -> None:
    """Deliver, with the workers catching up at seeded moments (and at the end)."""
    rng = random.Random(seed)
    for answer in deliver_in_bursts(client, runtime, callbacks, rng):
        assert answer.status == 200, (answer.callback.path, answer.body)
        if answer.callback.path == "/at/ussd":
            assert answer.body.startswith(("CON ", "END ")), answer.body
            assert "went wrong" not in answer.body and "expired" not in answer.body


def deliver_in_bursts(client, runtime, callbacks, rng):
    start = 0
    while start < len(callbacks):
        size = rng.randint(4, 16)
        yield from deliver(client, callbacks[start:start + size])
        run_jobs(runtime)
        start += size


def count(runtime, model, *where) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def outbox(runtime) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def assert_totals_exact(runtime) -> None:
    assert count(runtime, Ballot) == len(USSD_VOTES) + len(SMS_VOTES)
    assert count(runtime, Ballot, Ballot.revision != 1) == 0
    assert count(runtime, ProgressReport) == len(PMC_REPORTS)
    assert count(runtime, Ticket) == 3
    assert count(runtime, VoiceCall) == 1
    assert count(runtime, InboundSms) == len(SMS_VOTES) + len(PMC_REPORTS) + 7
    # one suppression per number, whatever the copies; the restarter's lifted by START
    with runtime.sessions() as db:
        suppressed = {row.msisdn: row.lifted_at is None
                      for row in db.scalars(select(SmsSuppression))}
    assert suppressed == {OPTED_OUT: True, STOPPER: True, RESTARTER: False}
    assert count(runtime, UssdSessionEvent) == len(USSD_VOTES) + 1
    sent = outbox(runtime)
    # one receipt per USSD vote or complaint, one reply per SMS to a short code of ours
    expected = Counter({**dict.fromkeys(USSD_VOTES, 1), **dict.fromkeys(SMS_VOTES, 1),
                        **dict.fromkeys(PMC_REPORTS, 1), RESIDENT: 2, USSD_COMPLAINER: 1,
                        SMS_COMPLAINER: 1, CALLER: 1, STOPPER: 1, RESTARTER: 2})
    assert Counter(row.msisdn for row in sent) == expected
    assert {row.status for row in sent} == {OutboxStatus.SENT}


# Delivery reports, per message: what AT sends over a day, and the state it must end in.
REPORT_PATTERNS = [  # (status, failureReason, retryCount) in the order AT sends them
    ([("Sent", "", 0), ("Submitted", "", 0), ("Buffered", "", 0), ("Success", "", 0)],
     "Success"),
    ([("Submitted", "", 0), ("Failed", "DeliveryFailure", 0)], "Failed"),
    ([("Success", "", 0), ("Buffered", "", 0)], "Success"),  # the Buffered one a day late
    ([("Buffered", "", 0), ("Buffered", "", 1), ("Rejected", "UserIsInactive", 0)],
     "Rejected"),
]


def reports_for(rows: list[OutboxMessage]) -> tuple[list[Callback], dict[int, str]]:
    """Every report for every row, in AT's order; and each row's final delivery state."""
    callbacks, finals = [], {}
    for n, row in enumerate(rows):
        statuses, finals[row.id] = REPORT_PATTERNS[n % len(REPORT_PATTERNS)]
        callbacks += [delivery_report(row.at_message_id, row.msisdn, status, reason, retry)
                      for status, reason, retry in statuses]
    return callbacks, finals


@pytest.mark.parametrize("seed", [0, *SEEDS])
def test_every_callback_twice_and_out_of_order_counts_once(client, runtime, seed):
    """Seed 0 is the control: each callback once, in order. Then AT's delivery reports for
    every message sent, several per message, each twice and in any order."""
    calls = traffic()
    play(client, runtime, calls if seed == 0 else schedule(calls, seed), seed)
    assert_totals_exact(runtime)
    rows = outbox(runtime)
    assert all(row.at_message_id for row in rows)
    reports, finals = reports_for(rows)
    for answer in deliver(client, reports if seed == 0 else schedule(reports, seed)):
        assert answer.status == 200, answer.body
    assert {row.id: row.delivery_status for row in outbox(runtime)} == finals
    assert count(runtime, DeliveryReport) == len(reports)
    assert count(runtime, DeliveryReport, DeliveryReport.outbox_message_id.is_(None)) == 0
    assert_totals_exact(runtime)


@pytest.mark.parametrize("seed", SEEDS)
def test_reports_mixed_into_the_rest_of_the_morning_count_once(client, runtime, seed):
    """The voters' receipts are reported on while SMS, PMC reports, complaints and opt-outs
    still come in: every callback twice, reports and the rest shuffled together."""
    calls = traffic()
    sessions = [c for c in calls if c.path in ("/at/ussd", "/at/voice")]
    rest = [c for c in calls if c.path not in ("/at/ussd", "/at/voice")]
    play(client, runtime, schedule(sessions, seed), seed)
    sent = outbox(runtime)
    assert set(USSD_VOTES) <= {row.msisdn for row in sent}  # the receipts are out
    early, early_finals = reports_for(sent)
    play(client, runtime, schedule([*rest, *early], seed), seed)
    late, late_finals = reports_for([r for r in outbox(runtime) if r.id not in early_finals])
    for answer in deliver(client, schedule(late, seed)):
        assert answer.status == 200, answer.body
    assert_totals_exact(runtime)
    assert {r.id: r.delivery_status for r in outbox(runtime)} == early_finals | late_finals
    assert count(runtime, DeliveryReport) == len(early) + len(late)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_late_copy_of_an_earlier_hop_does_not_derail_the_session(client, runtime, seed):
    """A hop held up on the network arrives after the voter moved on: it changes nothing."""
    calls = [c for c in traffic() if c.path.startswith(("/at/ussd", "/at/voice"))]
    play(client, runtime, schedule(calls, seed, stale=True), seed)
    assert (count(runtime, Ballot), count(runtime, Ticket)) == (len(USSD_VOTES), 2)
    assert Counter(row.msisdn for row in outbox(runtime)) == Counter(
        dict.fromkeys([*USSD_VOTES, USSD_COMPLAINER, CALLER], 1))


def test_the_schedule_keeps_each_session_in_order_and_shuffles_the_rest():
    calls = traffic()
    order = schedule(calls, seed=7)
    assert Counter(map(id, order)) == Counter({id(c): 2 for c in calls})
    for thread in {c.thread for c in calls if c.thread}:  # in order, each retried at once
        assert [c for c in order if c.thread == thread] == [
            c for c in calls if c.thread == thread for _ in range(2)]
    in_order = [c.form["id"] for c in calls if c.path == "/at/sms" for _ in range(2)]
    assert [c.form["id"] for c in order if c.path == "/at/sms"] != in_order


def test_a_report_that_overtakes_the_record_of_its_send_is_applied(client, runtime):
    """AT can report on a message before the worker has committed the id AT gave it."""
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        message_id = queue_sms(db, org.id, RESIDENT, "Mkutano kesho", SendLane.NOTICE)
    # the fake AT names the first message it accepts ATXid_1_0
    report = delivery_report("ATXid_1_0", RESIDENT, "Success")
    assert deliver(client, [report])[0].status == 200
    runtime.sms_sender.send([message_id])
    [row] = outbox(runtime)
    assert (row.at_message_id, row.delivery_status) == ("ATXid_1_0", "Success")
