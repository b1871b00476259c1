"""Opting out: STOP/ACHA, START/ANZA, AT's opt-out callback and its 406; honoured at send time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.channels.at_sms import AtSmsBackend
from app.db.models import Contact, OutboxStatus, SendLane, SmsSuppression
from app.services import outbox, suppressions
from app.services.organizations import organization_by_code
from app.services.sms_sender import SmsSender
from tests.factories import add_contact, add_counties
from tests.sms_support import NANDI_SMS, PHONE, post_sms, run_jobs
from tests.sms_support import outbox as outbox_rows

STOPPED_EN = ("You will get no more messages from Makueni County. To receive them again, send "
              "START to 40014.")
STOPPED_SW = ("Hutapokea tena ujumbe kutoka Makueni County. Ili uanze kuupokea tena, tuma ANZA "
              "kwa 40014.")
STARTED_EN = ("You will receive messages from Makueni County again. To stop them, send STOP to "
              "40014.")
STARTED_SW = ("Utapokea tena ujumbe kutoka Makueni County. Ili kuusitisha, tuma ACHA kwa "
              "40014.")
OTHER = "+254722000111"


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


def text_in(client, runtime, text: str, at_id: str, **fields: str) -> None:
    assert post_sms(client, text, at_id=at_id, **fields).status_code == 200
    run_jobs(runtime)


def suppression_rows(runtime) -> list[tuple[str, str, bool]]:
    with runtime.sessions() as db:
        return [(s.msisdn, s.source, s.lifted_at is None)
                for s in db.scalars(select(SmsSuppression).order_by(SmsSuppression.id))]


def opted_out(runtime, msisdn: str = PHONE, org: str = "makueni") -> bool:
    with runtime.sessions() as db:
        return suppressions.is_suppressed(db, organization_by_code(db, org).id, msisdn)


def queue(runtime, lane: SendLane, msisdn: str = PHONE, org: str = "makueni") -> int:
    with runtime.sessions.begin() as db:
        return outbox.queue_sms(db, organization_by_code(db, org).id, msisdn, "Mkutano kesho",
                                lane)


def status_of(runtime, message_id: int) -> OutboxStatus:
    return next(r.status for r in outbox_rows(runtime) if r.id == message_id)


@pytest.mark.parametrize(("language", "text", "expected"), [
    (None, "STOP", STOPPED_EN),
    (None, "stop", STOPPED_EN),
    (None, "ACHA", STOPPED_SW),  # no choice yet: confirmed in the language used
    ("sw", "STOP", STOPPED_SW),
    ("en", "acha", STOPPED_EN),
])
def test_stop_suppresses_and_confirms_in_the_senders_language(client, runtime, language, text,
                                                               expected):
    if language:
        add_contact(runtime, "makueni", PHONE, language)
    text_in(client, runtime, text, "ATXid_stop")
    [confirmation] = outbox_rows(runtime)
    # The confirmation is a reply to the STOP itself: it goes out although the number is
    # now suppressed.
    assert (confirmation.body, confirmation.status, confirmation.lane) == (
        expected, OutboxStatus.SENT, SendLane.REPLY)
    assert suppression_rows(runtime) == [(PHONE, "stop", True)]
    with runtime.sessions() as db:
        assert db.scalar(select(Contact.opted_out).where(Contact.msisdn == PHONE)) is True
    assert opted_out(runtime) and not opted_out(runtime, org="nandi")


def test_after_stop_notices_and_campaigns_are_suppressed_not_sent(client, runtime):
    text_in(client, runtime, "STOP", "ATXid_stop")
    notice, campaign = queue(runtime, SendLane.NOTICE), queue(runtime, SendLane.CAMPAIGN)
    other_org = queue(runtime, SendLane.NOTICE, org="nandi")  # STOP was to Makueni only
    report = runtime.sms_sender.send([notice, campaign, other_org])
    assert (report.sent, report.suppressed) == (1, 2)
    assert [status_of(runtime, i) for i in (notice, campaign, other_org)] == [
        OutboxStatus.SUPPRESSED, OutboxStatus.SUPPRESSED, OutboxStatus.SENT]


def test_a_reply_queued_before_stop_is_held_but_later_replies_go(client, runtime):
    earlier_reply = queue(runtime, SendLane.REPLY)
    text_in(client, runtime, "STOP", "ATXid_stop")
    runtime.sms_sender.send([earlier_reply])
    assert status_of(runtime, earlier_reply) == OutboxStatus.SUPPRESSED
    # The resident texts us again: answering what they just asked is not a notice.
    text_in(client, runtime, "HELP", "ATXid_help")
    assert [r.status for r in outbox_rows(runtime)][-1] == OutboxStatus.SENT


@pytest.mark.parametrize(("text", "expected"), [("START", STARTED_EN), ("anza", STARTED_SW)])
def test_start_resubscribes(client, runtime, text, expected):
    text_in(client, runtime, "STOP", "ATXid_stop")
    text_in(client, runtime, text, "ATXid_start")
    assert outbox_rows(runtime)[-1].body == expected
    assert suppression_rows(runtime) == [(PHONE, "stop", False)]  # kept, lifted
    assert not opted_out(runtime)
    with runtime.sessions() as db:
        assert db.scalar(select(Contact.opted_out).where(Contact.msisdn == PHONE)) is False
    notice = queue(runtime, SendLane.NOTICE)
    runtime.sms_sender.send([notice])
    assert status_of(runtime, notice) == OutboxStatus.SENT
    text_in(client, runtime, "STOP", "ATXid_stop_again")  # and out again
    assert suppression_rows(runtime) == [(PHONE, "stop", True)]


def test_the_opt_out_callback_suppresses_for_the_sender_ids_organization(client, runtime):
    response = client.post("/at/sms/optout", data={"senderId": NANDI_SMS, "phoneNumber": PHONE})
    assert response.status_code == 200
    assert opted_out(runtime, org="nandi") and not opted_out(runtime, org="makueni")
    assert suppression_rows(runtime) == [(PHONE, "optout_callback", True)]
    # Repeated by AT: still one suppression.
    client.post("/at/sms/optout", data={"senderId": NANDI_SMS, "phoneNumber": PHONE})
    assert len(suppression_rows(runtime)) == 1
    notice = queue(runtime, SendLane.NOTICE, org="nandi")
    runtime.sms_sender.send([notice])
    assert status_of(runtime, notice) == OutboxStatus.SUPPRESSED


def test_the_opt_out_callback_for_a_sender_id_not_ours_is_answered(client, runtime):
    response = client.post("/at/sms/optout", data={"senderId": "NOT_US", "phoneNumber": PHONE})
    assert response.status_code == 200
    assert suppression_rows(runtime) == []
    assert client.post("/at/sms/optout", data={"senderId": "40014"}).status_code == 400


def test_the_opt_out_callback_checks_the_token(client, runtime):
    runtime.settings = runtime.settings.with_overrides(callback_token="s3cret-token")
    data = {"senderId": "40014", "phoneNumber": PHONE}
    assert client.post("/at/sms/optout", data=data).status_code == 403
    assert client.post("/at/sms/optout?token=s3cret-token", data=data).status_code == 200
    assert opted_out(runtime)


def test_a_406_suppresses_and_is_never_retried(runtime, fake_at):
    sender = SmsSender(runtime.sessions, AtSmsBackend.connect(
        fake_at.username, fake_at.api_key, fake_at.url))
    fake_at.answer(OTHER, 406)
    first = queue(runtime, SendLane.CAMPAIGN, msisdn=OTHER)
    report = sender.send([first])
    assert (report.suppressed, report.retries) == (1, ())
    assert status_of(runtime, first) == OutboxStatus.SUPPRESSED
    assert suppression_rows(runtime) == [(OTHER, "blacklist_406", True)]
    second = queue(runtime, SendLane.NOTICE, msisdn=OTHER)
    sender.send([first, second])
    assert status_of(runtime, second) == OutboxStatus.SUPPRESSED
    assert len(fake_at.requests) == 1  # neither resent nor sent


def test_a_contact_flagged_opted_out_is_suppressed_too(runtime):
    add_contact(runtime, "makueni", OTHER, None)
    with runtime.sessions.begin() as db:
        db.scalar(select(Contact).where(Contact.msisdn == OTHER)).opted_out = True
    notice = queue(runtime, SendLane.NOTICE, msisdn=OTHER)
    runtime.sms_sender.send([notice])
    assert status_of(runtime, notice) == OutboxStatus.SUPPRESSED
