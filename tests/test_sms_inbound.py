"""Inbound SMS, driven with raw forms exactly as AT posts them, answered through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.db.models import Contact, InboundStatus, OutboxStatus, SendLane
from app.db.session import make_engine
from tests.factories import add_contact, add_counties
from tests.sms_support import (
    MAKUENI_SMS,
    NANDI_SMS,
    PHONE,
    inbound,
    outbox,
    post_sms,
    run_jobs,
    sms_form,
)

HELP_EN = ("Makueni County SMS. Send one of these to 40014:\n"
           "HELP - this list\n"
           "LANG EN/SW - change language\n"
           "VOTE 3 12 7 - vote\n"
           "RECEIPT <code> - check vote\n"
           "IDEA <cost> <idea>")
HELP_SW = ("Makueni County SMS. Tuma kwa 40014:\n"
           "MSAADA - orodha hii\n"
           "LUGHA EN/SW - badilisha lugha\n"
           "KURA 3 12 7 - piga kura\n"
           "RISITI <nambari> - hakiki\n"
           "WAZO <gharama> <wazo>")
NOW_SW = "Lugha yako sasa ni Kiswahili. Tuma MSAADA kuona unachoweza kutuma."
NOW_EN = "Your language is now English. Send HELP to see what you can text."
CHOICES_EN = "LANG EN (English), LANG SW (Kiswahili)"
CHOICES_SW = "LUGHA EN (English), LUGHA SW (Kiswahili)"


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


def reply_to(client, runtime, text: str, **fields: str) -> str:
    """Post one SMS, let the workers run, return the only reply's text."""
    response = post_sms(client, text, **fields)
    assert response.status_code == 200, response.get_data(as_text=True)
    run_jobs(runtime)
    rows = outbox(runtime)
    assert len(rows) == 1, [r.body for r in rows]
    return rows[0].body


def language_of(runtime, msisdn: str = PHONE) -> str | None:
    with runtime.sessions() as db:
        return db.scalar(select(Contact.language).where(Contact.msisdn == msisdn))


@pytest.mark.parametrize(
    "raw",
    [
        # ISO date, "+" percent-encoded: what AT's documentation shows
        "date=2017-05-03T06%3A04%3A45Z&from=%2B254712345678&to=40014&text=HELP"
        "&id=ATXid_raw&linkId=&networkCode=63902&cost=KES+0.0000",
        # the other date format AT has been seen to send
        "date=2017-05-03+06%3A04%3A45&from=%2B254712345678&to=40014&text=HELP"
        "&id=ATXid_raw&linkId=&networkCode=63902",
        # a raw "+" in the number, decoded as a space
        "date=2017-05-03+06%3A04%3A45&from=+254712345678&to=40014&text=HELP"
        "&id=ATXid_raw&networkCode=63902",
    ],
)
def test_raw_at_payloads_are_stored_and_answered(client, runtime, raw):
    response = client.post("/at/sms", data=raw,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    run_jobs(runtime)
    [row] = inbound(runtime)
    assert (row.at_id, row.msisdn, row.to, row.text, row.network_code) == (
        "ATXid_raw", PHONE, "40014", "HELP", "63902")
    assert row.sent_at == datetime(2017, 5, 3, 6, 4, 45, tzinfo=UTC)
    assert row.status == InboundStatus.HANDLED and row.handled_at is not None
    [reply] = outbox(runtime)
    assert (reply.msisdn, reply.sender, reply.lane, reply.body) == (
        PHONE, "40014", SendLane.REPLY, HELP_EN)
    assert reply.status == OutboxStatus.SENT and reply.backend == "console"


@pytest.mark.parametrize(
    ("language", "text", "expected", "language_after"),
    [
        (None, "HELP", HELP_EN, None),
        (None, "help", HELP_EN, None),
        (None, "  Help!! ", HELP_EN, None),
        (None, "#help me please", HELP_EN, None),
        (None, "MSAADA", HELP_SW, None),  # no choice yet: answered in the language used
        ("en", "msaada", HELP_EN, "en"),  # a choice made stands
        ("sw", "HELP", HELP_SW, "sw"),
        (None, "LANG SW", NOW_SW, "sw"),
        (None, "lang sw", NOW_SW, "sw"),
        (None, "lugha sw", NOW_SW, "sw"),
        (None, "Lang: Kiswahili.", NOW_SW, "sw"),
        ("sw", "LANG EN", NOW_EN, "en"),
        ("sw", "LUGHA  en", NOW_EN, "en"),
        (None, "LANG FR", "Sorry, that language is not available. Send one of: " + CHOICES_EN,
         None),
        ("sw", "LUGHA XX", "Samahani, lugha hiyo haipatikani. Tuma mojawapo ya: " + CHOICES_SW,
         "sw"),
        (None, "LANG", "To change your language, send one of: " + CHOICES_EN, None),
        ("sw", "lugha", "Kubadilisha lugha yako, tuma mojawapo ya: " + CHOICES_SW, "sw"),
        (None, "BLAH 3", HELP_EN, None),
        ("sw", "habari yako", HELP_SW, "sw"),
        (None, "", HELP_EN, None),
        (None, "?!", HELP_EN, None),
    ],
)
def test_keywords(client, runtime, language, text, expected, language_after):
    if language:
        add_contact(runtime, "makueni", PHONE, language)
    reply = reply_to(client, runtime, text)
    assert reply == expected
    assert len(reply) <= 160 and reply.isascii()
    assert language_of(runtime) == language_after


def test_unknown_text_gets_help_in_the_organizations_default_language(client, runtime):
    # Nandi speaks Kiswahili first; a new number has chosen nothing yet
    reply = reply_to(client, runtime, "hello", to=NANDI_SMS)
    assert reply == ("Nandi County SMS. Tuma kwa 1548:\n"
                     "MSAADA - orodha hii\nLUGHA SW/EN - badilisha lugha\n"
                     "KURA 3 12 7 - piga kura\nRISITI <nambari> - hakiki\n"
                     "WAZO <gharama> <wazo>")
    [row] = outbox(runtime)
    assert row.sender == "1548"


def test_a_contact_is_recorded_with_consent(client, runtime):
    reply_to(client, runtime, "HELP")
    with runtime.sessions() as db:
        contact = db.scalar(select(Contact))
        assert (contact.msisdn, contact.language) == (PHONE, None)
        assert contact.consent_at is not None


def test_duplicate_at_id_is_stored_once_and_answered_once(client, runtime):
    for text in ("HELP", "HELP", "LANG SW"):  # AT retries carry the same id
        assert post_sms(client, text, at_id="ATXid_dup").status_code == 200
        run_jobs(runtime)
    assert [r.text for r in inbound(runtime)] == ["HELP"]
    assert [r.body for r in outbox(runtime)] == [HELP_EN]
    assert language_of(runtime) is None


def test_handling_twice_sends_nothing_more(client, runtime):
    post_sms(client, "HELP")
    run_jobs(runtime)
    [row] = inbound(runtime)
    assert runtime.inbound_sms.handle(row.id) == []
    assert len(outbox(runtime)) == 1


def test_stored_but_not_handed_over_is_handed_over_on_ats_retry(client, runtime, monkeypatch):
    monkeypatch.setattr(runtime, "dispatcher", _Broken(runtime.dispatcher))
    assert post_sms(client, "HELP").status_code == 500  # stored: AT must come back anyway
    assert [r.status for r in inbound(runtime)] == [InboundStatus.RECEIVED]
    monkeypatch.setattr(runtime, "dispatcher", runtime.dispatcher.inner)
    assert post_sms(client, "HELP").status_code == 200
    run_jobs(runtime)
    assert len(inbound(runtime)) == 1
    assert [r.body for r in outbox(runtime)] == [HELP_EN]


class _Broken:
    def __init__(self, inner):
        self.inner = inner

    def handle_inbound_sms(self, inbound_id):
        raise ConnectionError("redis down")


def test_database_down_answers_500_so_at_retries(client, runtime, monkeypatch, tmp_path):
    broken = make_engine(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3")
    monkeypatch.setattr(runtime, "sessions", sessionmaker(broken))
    assert post_sms(client, "HELP").status_code == 500
    broken.dispose()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"to": "99999"}, "unknown short code"),
        ({"to": ""}, "unknown short code"),
        ({"sender": "12"}, "unreadable sender number"),
        ({"sender": ""}, "unreadable sender number"),
        ({"sender": "not a number at all, and far too long for the column"},
         "unreadable sender number"),
    ],
)
def test_unusable_messages_are_kept_and_not_answered(client, runtime, fields, error):
    assert post_sms(client, "HELP", **fields).status_code == 200
    run_jobs(runtime)
    [row] = inbound(runtime)
    assert (row.status, row.error, row.text) == (InboundStatus.FAILED, error, "HELP")
    assert outbox(runtime) == []


def test_missing_or_oversized_id_is_refused(client, runtime):
    form = sms_form("HELP")
    del form["id"]
    assert client.post("/at/sms", data=form).status_code == 400
    assert post_sms(client, "HELP", at_id="  ").status_code == 400
    assert post_sms(client, "HELP", at_id="x" * 101).status_code == 400
    assert client.post("/at/sms", data={}).status_code == 400
    assert inbound(runtime) == []


def test_token_is_required_when_set(client, runtime):
    runtime.settings = runtime.settings.with_overrides(callback_token="s3cret-token")
    assert post_sms(client, "HELP").status_code == 403
    assert post_sms(client, "HELP", query="?token=wrong").status_code == 403
    assert inbound(runtime) == []
    assert post_sms(client, "HELP", query="?token=s3cret-token").status_code == 200


def test_a_10_kb_text_is_stored_whole_and_answered(client, runtime):
    text = "Hii ni ujumbe mrefu sana. " * 400  # 10,400 characters
    assert reply_to(client, runtime, text) == HELP_EN
    [row] = inbound(runtime)
    assert row.text == text


def test_replies_wait_for_the_worker_on_the_prod_stack(client, runtime, stack):
    assert post_sms(client, "HELP").status_code == 200
    if stack == "prod":  # the web request only stored and queued
        assert outbox(runtime) == []
        assert [r.status for r in inbound(runtime)] == [InboundStatus.RECEIVED]
    run_jobs(runtime)
    assert [r.body for r in outbox(runtime)] == [HELP_EN]


def test_each_organization_answers_its_own_short_code(client, runtime):
    post_sms(client, "HELP", to=MAKUENI_SMS, at_id="a")
    post_sms(client, "HELP", to=NANDI_SMS, at_id="b")
    run_jobs(runtime)
    rows = outbox(runtime)
    assert [(r.sender, r.body.split(" SMS")[0]) for r in rows] == [
        ("40014", "Makueni County"), ("1548", "Nandi County")]
    assert rows[0].organization_id != rows[1].organization_id


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "HELP\x00"},
        {"at_id": "ATXid_\x00"},
        {"sender": "+2547\x0012345678"},
        {"text": "Habari 👋🏽 “asante”"},
        {"to": "4" * 200},
        {"date": "not a date"},
    ],
)
def test_odd_payloads_are_stored_without_a_5xx(client, runtime, fields):
    text = fields.pop("text", "HELP")
    assert post_sms(client, text, **fields).status_code == 200
    run_jobs(runtime)
    assert len(inbound(runtime)) == 1
