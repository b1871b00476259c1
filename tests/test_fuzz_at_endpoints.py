"""Hostile input on every Africa's Talking callback (issue 7), through app.test_client().

The callback URLs can be found by anyone; AT itself sends odd encodings (a "+" decoded as a
space, two date formats). Whatever arrives: never a 5xx (AT would retry it for hours), a USSD
reply always starts with CON or END and is GSM-7 text within the screen limit, input that is
refused changes nothing in any table, a wrong token gets 403 and stores nothing, and a
resident's mistyped keyword gets a polite reply. Examples are derandomized (the same every
run) and bounded; state accumulates across the examples of one test, so each property
compares what one request changed.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.db.base import Base
from app.db.models import (
    Contact,
    DeliveryStatus,
    InboundSms,
    InboundStatus,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Place,
    UssdSessionEvent,
)
from app.engine.render import _GSM7
from app.pb import sms_votes
from app.pmc import sms_pmc
from app.services import delivery_reports
from tests.factories import MAKUENI_USSD, NANDI_USSD, add_contact
from tests.pb_support import add_cycle
from tests.pmc_support import add_makueni, import_fixtures
from tests.sms_support import MAKUENI_SMS, NANDI_SMS, PHONE, run_jobs
from tests.test_fuzz_keywords import INJECTIONS, every_word, hostile_text, keywords

ENDPOINT_FUZZ = settings(max_examples=100, deadline=None, database=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture,
                                                HealthCheck.data_too_large])
SLOW_FUZZ = settings(ENDPOINT_FUZZ, max_examples=40)  # a worker run per example

CHAIR = "+254712345001"  # tests/data/makueni_pmc.csv: chair of MK-101
MISSING = object()  # a field left out of the form
TOKEN = "fuzz-callback-token-0123456789"
FAILED = "END Sorry, something went wrong. Please try again."  # app.services.ussd: a hop raised

# The fields AT posts to each callback, as AT sends them (tests/test_*_endpoint.py, AT docs).
VALID = {
    "/at/ussd": {"sessionId": "ATUid_fuzz", "serviceCode": MAKUENI_USSD, "phoneNumber": PHONE,
                 "networkCode": "63902", "text": ""},
    "/at/ussd/events": {"date": "2026-11-22 08:00:00", "sessionId": "ATUid_ev",
                        "serviceCode": MAKUENI_USSD, "networkCode": "63902",
                        "phoneNumber": PHONE, "status": "Incomplete", "cost": "KES 0.0000",
                        "durationInMillis": "18000", "hopsCount": "3", "input": "1*4",
                        "lastAppResponse": "CON Choose", "errorMessage": ""},
    "/at/sms": {"date": "2026-11-22 08:00:00", "from": PHONE, "to": MAKUENI_SMS,
                "text": "HELP", "id": "ATXid_fuzz", "linkId": "", "networkCode": "63902",
                "cost": "KES 0.0000"},
    "/at/sms/delivery": {"id": "ATXid_dlr", "status": "Success", "phoneNumber": PHONE,
                         "networkCode": "63902", "failureReason": "", "retryCount": "0"},
    "/at/sms/optout": {"senderId": MAKUENI_SMS, "phoneNumber": PHONE},
}
ENDPOINTS = sorted(VALID)
VOICE = "/at/voice"  # its own fuzzing: tests/test_fuzz_voice.py
NUMBERS = ["1", "0", "-1", "3.5", "1e3", "abc", "", " ", "99999999999999999999", "٣",
           "9" * 5000, "0x1f", "NaN"]
PHONES = [PHONE, " 254712345678", "254712345678", "0712345678", "+254 712 345 678", "+1",
          "12", "+254712345678\x00", "+2547123456789999", "%2B254712345678", CHAIR]

field_value = st.one_of(hostile_text, st.sampled_from(NUMBERS + PHONES + [
    MAKUENI_USSD, NANDI_USSD, MAKUENI_SMS, NANDI_SMS, "Success", "Failed", "UserInBlackList"]))
# A value, a repeated field (AT never repeats one; werkzeug keeps the first), or no field.
field = st.one_of(field_value, st.lists(field_value, min_size=2, max_size=3),
                  st.just(MISSING))


def forms(endpoint: str) -> st.SearchStrategy[dict[str, object]]:
    """AT's valid form for the endpoint with some fields changed, repeated or left out, and
    maybe fields AT never sends."""
    names = sorted(VALID[endpoint])
    changes = st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=12)), field,
                              max_size=len(names) + 2)
    return st.tuples(st.booleans(), changes).map(
        lambda pair: _merged(VALID[endpoint] if pair[0] else {}, pair[1]))


def _merged(base: dict[str, str], changes: dict[str, object]) -> dict[str, object]:
    form = {**base, **changes}
    return {name: value for name, value in form.items() if value is not MISSING}


raw_bodies = st.tuples(
    st.one_of(st.binary(max_size=600),
              st.lists(st.sampled_from(INJECTIONS + ["%ZZ", "%", "&&", "==", "text=1*%00*2",
                                                     "sessionId=a&sessionId=b", "+", "%2B"]),
                       max_size=6).map(lambda parts: "&".join(parts).encode("utf-8",
                                                                             "surrogatepass"))),
    st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data",
                     "multipart/form-data; boundary=x", "application/json", "text/plain", "",
                     "application/x-www-form-urlencoded; charset=latin-1"]))


@pytest.fixture
def world(runtime, monkeypatch):
    """Both counties; Makueni with its PMCs, a cumulative vote open in Tulimani and ideas
    collected in Mbooni ward, so that fuzzed input reaches every keyword and flow."""
    add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)
    vote = add_cycle(runtime, ballot_type="cumulative", points=10, with_counties=False)
    add_cycle(runtime, ward="0432", open_voting=False, with_counties=False)
    add_contact(runtime, "makueni", PHONE, "en")
    with runtime.sessions.begin() as db:  # PHONE lives in Tulimani: its VOTE can count
        contact = db.scalar(select(Contact).where(Contact.msisdn == PHONE))
        contact.ward_id = vote.ward_ids["0431"]
    return runtime


def counts(runtime) -> dict[str, int]:
    """The number of rows of every table, in one query."""
    tables = Base.metadata.sorted_tables
    with runtime.sessions() as db:
        row = db.execute(select(*[
            select(func.count()).select_from(t).scalar_subquery().label(t.name)
            for t in tables])).one()
    return dict(zip([t.name for t in tables], row, strict=True))


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def valid_ussd_reply(runtime, response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert body.startswith(("CON ", "END ")), body[:200]
    assert len(body) <= runtime.settings.ussd_max_chars, (len(body), body)
    assert all(ch in _GSM7 for ch in body), body
    return body


_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


# -- every endpoint: never a 5xx, refused input changes nothing -----------------------------


def test_every_endpoint_survives_hostile_forms(world, client):
    @settings(ENDPOINT_FUZZ, max_examples=60 * len(ENDPOINTS))
    @given(st.sampled_from(ENDPOINTS).flatmap(lambda e: st.tuples(st.just(e), forms(e))))
    @example(("/at/ussd/events", {**VALID["/at/ussd/events"], "hopsCount": "9" * 30,
                                  "durationInMillis": "-" + "9" * 19}))  # was a 500
    @example(("/at/ussd/events", {**VALID["/at/ussd/events"], "sessionId": "é" * 159}))  # 500
    @example(("/at/sms/delivery", {**VALID["/at/sms/delivery"], "retryCount": "9" * 11}))
    @example(("/at/sms/delivery", {**VALID["/at/sms/delivery"], "id": "ATXid_\x00"}))
    @example(("/at/ussd/events", {**VALID["/at/ussd/events"], "sessionId": "ATUid_\x00"}))
    @example(("/at/sms/optout", {**VALID["/at/sms/optout"], "senderId": "40014\x00"}))
    @example(("/at/ussd", {**VALID["/at/ussd"], "serviceCode": "*483*1#\x00"}))
    def check(case):
        endpoint, form = case
        before = counts(world)
        response = client.post(endpoint, data=form)
        after = counts(world)
        assert response.status_code < 500, response.get_data(as_text=True)[:200]
        if endpoint == "/at/ussd" and response.status_code != 413:
            reply = valid_ussd_reply(world, response)
            given_session = form.get("sessionId")
            if isinstance(given_session, str) and given_session.strip():
                assert reply != FAILED, "the hop raised: see the log"
            return
        # 413: werkzeug refuses a body over MAX_CONTENT_LENGTH before we see it
        assert response.status_code in (200, 400, 413), response.status_code
        if response.status_code != 200:
            assert changed(before, after) == {}
        else:
            assert set(changed(before, after)) <= STORED[endpoint], changed(before, after)

    check()


# What an accepted callback may add rows to (an opt-out also records the contact's state).
STORED = {
    "/at/ussd": {"contacts", "voter_places", "ballots", "ballot_choices", "participations",
                 "proposals", "progress_reports", "milestone_verifications", "outbox_messages",
                 "voter_profiles", "tickets", "ticket_events"},
    "/at/ussd/events": {"ussd_session_events"},
    "/at/sms": {"inbound_sms", "contacts", "outbox_messages", "sms_suppressions",
                "sms_stop_hints", "progress_reports", "milestone_verifications",
                "resident_feedback", "proposals", "ballots", "ballot_choices", "voter_places",
                "participations", "voter_profiles", "tickets", "ticket_events"},
    "/at/sms/delivery": {"delivery_reports", "sms_suppressions"},
    "/at/sms/optout": {"sms_suppressions"},
}
# What a resident's message can change for good; a refusal changes none of it.
BUSINESS = {"ballots", "ballot_choices", "voter_places", "participations", "proposals",
            "progress_reports", "milestone_verifications", "resident_feedback", "tickets",
            "ticket_events"}
REFUSALS = [
    sms_votes.NOT_OPEN, sms_votes.NEEDS_ID, sms_votes.REGISTER_FIRST, sms_votes.NO_VOTE_IN_PLACE,
    sms_votes.UNKNOWN_CODES, sms_votes.OVER_BUDGET, sms_votes.TOO_MANY, sms_votes.ONLY_ONE,
    sms_votes.TOO_MANY_POINTS, sms_votes.NOT_RECORDED, sms_votes.RECEIPT_USAGE,
    sms_votes.RECEIPT_UNKNOWN, sms_votes.IDEA_USAGE, sms_votes.IDEAS_CLOSED,
    sms_votes.IDEAS_NOT_HERE, sms_votes.IDEA_NO_PLACE, sms_votes.IDEA_TOO_COSTLY,
    sms_pmc.PMC_USAGE, sms_pmc.NO_PROGRESS, sms_pmc.BAD_PROGRESS, sms_pmc.NO_STATUS,
    sms_pmc.BAD_STATUS, sms_pmc.NOT_ON_ANY_PMC, sms_pmc.NOT_MEMBER, sms_pmc.NOT_RECORDED,
    sms_pmc.UNKNOWN_PROJECT, sms_pmc.UNKNOWN_PROJECT_YOURS, sms_pmc.VERIFY_USAGE,
    sms_pmc.VERIFY_NOT_CHAIR, sms_pmc.CONFIRM_USAGE, sms_pmc.CONFIRM_NOTHING,
    sms_pmc.CONFIRM_OWN, sms_pmc.INFO_USAGE, sms_pmc.REPORT_USAGE,
]


def is_refusal(reply: str) -> bool:
    """The reply is one of the English corrections that promise nothing was stored."""
    return any(re.fullmatch(re.sub(r"\\\{\w+\\\}", ".*", re.escape(template)), reply, re.DOTALL)
               for template in REFUSALS)


def test_every_endpoint_survives_raw_bodies(world, client):
    @settings(ENDPOINT_FUZZ, max_examples=40 * len(ENDPOINTS))
    @given(st.sampled_from(ENDPOINTS), raw_bodies)
    @example("/at/ussd", (b"sessionId=x&text=%ZZ%00&phoneNumber=+254712345678",
                          "application/x-www-form-urlencoded"))
    @example("/at/sms", (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"))
    def check(endpoint, raw):
        body, content_type = raw
        before = counts(world)
        response = client.post(endpoint, data=body, content_type=content_type)
        assert response.status_code < 500, response.get_data(as_text=True)[:200]
        if endpoint == "/at/ussd" and response.status_code == 200:
            valid_ussd_reply(world, response)
        if response.status_code != 200:
            assert changed(before, counts(world)) == {}

    check()


def test_a_wrong_token_gets_403_and_stores_nothing(world, client):
    world.settings = world.settings.with_overrides(callback_token=TOKEN)

    @settings(ENDPOINT_FUZZ, max_examples=30 * len(ENDPOINTS))
    @given(st.one_of(st.just(None), hostile_text, st.sampled_from(
        [TOKEN[:-1], TOKEN + "x", TOKEN.upper(), f" {TOKEN}", "", "%00", TOKEN + "\x00"])),
        st.sampled_from(ENDPOINTS).flatmap(lambda e: st.tuples(st.just(e), forms(e))))
    def check(token, case):
        endpoint, form = case
        before = counts(world)
        query = {} if token is None else {"token": token}
        response = client.post(endpoint, query_string=query, data=form)
        assert response.status_code == 403
        assert changed(before, counts(world)) == {}

    check()
    for endpoint in ENDPOINTS:
        assert client.post(endpoint, query_string={"token": TOKEN},
                           data=VALID[endpoint]).status_code == 200


# -- USSD: a session of hostile inputs ------------------------------------------------------

_OPTION = re.compile(r"^(\d+)\. ", re.MULTILINE)


def next_input(data, screen: str) -> str:
    """Mostly a key the screen offers (so walks get deep into the flows), else hostile text
    or a key no screen offers."""
    offered = _OPTION.findall(screen)
    kind = data.draw(st.integers(0, 9), label="kind")
    if kind < 7 and offered:
        return data.draw(st.sampled_from(offered), label="key")
    if kind < 8:
        return data.draw(st.sampled_from(["1", "99", "0", "00", "98", "abc", "10"]), label="key")
    return data.draw(hostile_text.map(lambda text: text[:300]), label="typed")


@given(st.data(), st.sampled_from([MAKUENI_USSD, NANDI_USSD]))
@settings(ENDPOINT_FUZZ, max_examples=100)
def test_a_session_of_hostile_inputs_always_gets_a_valid_screen(world, client, data, code):
    # A new caller each time (English chosen), so that every walk starts at the main menu.
    session, phone = unique("ATUid_walk"), f"+25471{next(_ids):07d}"
    add_contact(world, "makueni", phone, "en")
    add_contact(world, "nandi", phone, "en")
    if data.draw(st.booleans(), label="lives in Tulimani"):  # where the vote is open
        with world.sessions.begin() as db:
            tulimani = db.scalar(select(Place.id).where(Place.code == "0431"))
            for contact in db.scalars(select(Contact).where(Contact.msisdn == phone)):
                contact.ward_id = tulimani
    text = ""
    last = valid_ussd_reply(world, _hop(client, session, text, code, phone))
    for _ in range(12):
        if last.startswith("END "):
            break
        typed = next_input(data, last)
        text = f"{text}*{typed}" if text else typed
        last = valid_ussd_reply(world, _hop(client, session, text, code, phone))
        assert last != FAILED, f"the hop raised at {text[:80]!r}: see the log"
    event("walk ended at: " + last.split("\n")[0][:40])
    # AT retrying the last hop gets the same screen, and it changes nothing
    before = counts(world)
    assert valid_ussd_reply(world, _hop(client, session, text, code, phone)) == last
    assert changed(before, counts(world)) == {}


@pytest.mark.parametrize("inputs", [
    ["1", "4", "4", "1", "1", "²"],  # points typed as a superscript digit: was FAILED
    ["1", "4", "4", "1", "1", "9" * 5000],
    ["2", "4", "3", "a borehole", "9" * 400 + "K"],
    ["*" * 500],
])
def test_hostile_inputs_found_before_get_a_valid_screen(world, client, inputs):
    session, text = unique("ATUid_found"), ""
    valid_ussd_reply(world, _hop(client, session, text))
    for typed in inputs:
        text = f"{text}*{typed}" if text else typed
        assert valid_ussd_reply(world, _hop(client, session, text)) != FAILED


def _hop(client, session: str, text: str, code: str = MAKUENI_USSD, phone: str = PHONE):
    return client.post("/at/ussd", data={"sessionId": session, "serviceCode": code,
                                         "phoneNumber": phone, "networkCode": "63902",
                                         "text": text})


@ENDPOINT_FUZZ
@given(st.one_of(hostile_text, st.sampled_from(PHONES)),
       st.one_of(hostile_text, st.sampled_from([MAKUENI_USSD, "*483*1", "*483*1# ", "*999#"])),
       st.sampled_from(["", "1", "1*2"]))
def test_a_refused_ussd_dial_changes_nothing(world, client, phone, code, text):
    session = unique("ATUid_refused")
    before = counts(world)
    reply = valid_ussd_reply(world, _hop(client, session, text, code, phone))
    if reply in ("END This service code is not in use.",
                 "END Sorry, we could not read your phone number."):
        assert changed(before, counts(world)) == {}
        assert world.ussd.store.get(session) is None


# -- inbound SMS: a polite reply to whatever a resident types ------------------------------

sms_text = st.one_of(
    hostile_text,
    st.tuples(keywords, st.sampled_from([" ", "", ":", "  ", "\n"]),
              hostile_text).map("".join),
    st.tuples(st.sampled_from(["VOTE", "KURA", "IDEA", "WAZO", "PMC", "INFO", "REPORT",
                               "CONFIRM", "VERIFY", "RECEIPT", "COMPLAIN", "STATUS", "HALI",
                               "1", "2"]),
              st.lists(st.sampled_from(["1", "2", "3", "4", "3:4", "12:6", "MK-101", "MK-102",
                                        "45", "45%", "ONTRACK", "on track", "400K", "1.2M",
                                        "borehole", "9" * 30, "²", "{0}", "%s", "4829137",
                                        "482-9137", "4829138"]),
                       max_size=6).map(" ".join)).map(" ".join),
)


@given(sms_text, st.sampled_from([PHONE, CHAIR, " 254712345678", "254722345004"]),
       st.sampled_from([MAKUENI_SMS, NANDI_SMS]))
@SLOW_FUZZ
@example("IDEA " + "9" * 5000 + " borehole", PHONE, MAKUENI_SMS)  # was a failed job
@example("WAZO " + "9" * 400 + "K borehole", PHONE, MAKUENI_SMS)
@example("IDEA 1.005K a borehole at the market", PHONE, MAKUENI_SMS)
@example("PMC MK-101 ² ONTRACK", CHAIR, MAKUENI_SMS)
@example("VOTE 1:²", PHONE, MAKUENI_SMS)
@example("INFO {0}%s\x00", PHONE, MAKUENI_SMS)
def test_any_sms_gets_one_polite_reply(world, client, text, sender, short_code):
    assert_one_polite_reply(world, client, text, sender, short_code)


@pytest.mark.parametrize("word", every_word())
def test_each_keyword_answers_hostile_words_after_it_politely(world, client, word):
    """The test above draws keywords at random: some never met hostile input. Here each
    keyword and alias gets its own, from a resident and from a PMC chair."""
    @settings(SLOW_FUZZ, max_examples=5)
    @given(st.sampled_from([" ", "", ":", "\n"]), hostile_text, st.sampled_from([PHONE, CHAIR]))
    def check(separator, tail, sender):
        assert_one_polite_reply(world, client, f"{word}{separator}{tail}", sender, MAKUENI_SMS)

    check()


def assert_one_polite_reply(world, client, text: str, sender: str, short_code: str) -> None:
    """One SMS in: stored, handled, answered once to its sender with every placeholder
    filled; a refusal changes nothing but the inbound row."""
    at_id = unique("ATXid_fuzz")
    before, newest = counts(world), _newest_outbox_id(world)
    response = client.post("/at/sms", data={**VALID["/at/sms"], "text": text, "from": sender,
                                            "to": short_code, "id": at_id})
    assert response.status_code == 200
    run_jobs(world)
    with world.sessions() as db:
        row = db.scalar(select(InboundSms).where(InboundSms.at_id == at_id))
        assert row.status == InboundStatus.HANDLED, "the handler raised: see the log"
        replies = db.scalars(select(OutboxMessage).where(
            OutboxMessage.id > newest).order_by(OutboxMessage.id)).all()
    assert replies and replies[0].msisdn == row.msisdn
    if sender.strip().lstrip("+") == PHONE[1:]:  # a "+" that arrived as a space
        assert row.msisdn == PHONE
    reply = replies[0].body
    assert reply.strip()
    if "{" not in text:
        assert "{" not in reply  # every placeholder filled
    difference = changed(before, counts(world))
    assert difference.get("inbound_sms") == 1
    event("refused" if is_refusal(reply) else "stored " + ",".join(sorted(
        set(difference) & BUSINESS)) if set(difference) & BUSINESS else "answered")
    if is_refusal(reply):
        assert not set(difference) & BUSINESS, (reply, difference)


def _newest_outbox_id(runtime) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.max(OutboxMessage.id))) or 0


@given(st.one_of(hostile_text, st.sampled_from(PHONES)), st.sampled_from(
    [MAKUENI_SMS, "99999", "", "40014\x00", " 40014", "4" * 200]))
@SLOW_FUZZ
def test_sms_that_cannot_be_answered_is_kept_and_not_answered(world, client, sender, to):
    at_id = unique("ATXid_odd")
    before = counts(world)
    response = client.post("/at/sms", data={**VALID["/at/sms"], "from": sender, "to": to,
                                            "id": at_id})
    assert response.status_code == 200
    run_jobs(world)
    with world.sessions() as db:
        row = db.scalar(select(InboundSms).where(InboundSms.at_id == at_id))
    if row.status == InboundStatus.FAILED:  # unknown short code or unreadable number
        assert changed(before, counts(world)) == {"inbound_sms": 1}
    else:
        assert row.status == InboundStatus.HANDLED


def test_a_repeated_sms_id_is_stored_once(world, client):
    @ENDPOINT_FUZZ
    @given(st.lists(sms_text, min_size=2, max_size=3))
    def check(texts):
        at_id = unique("ATXid_dup")
        for text in texts:
            assert client.post("/at/sms", data={**VALID["/at/sms"], "text": text,
                                                "id": at_id}).status_code == 200
        with world.sessions() as db:
            rows = db.scalars(select(InboundSms).where(InboundSms.at_id == at_id)).all()
        assert [r.at_id for r in rows] == [at_id]

    check()


def test_end_of_session_events_keep_no_keys_pressed(world, client):
    @ENDPOINT_FUZZ
    @given(forms("/at/ussd/events"))
    def check(form):
        session = unique("ATUid_ev")
        response = client.post("/at/ussd/events", data={**form, "sessionId": session})
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
        with world.sessions() as db:
            event = db.scalar(select(UssdSessionEvent).where(
                UssdSessionEvent.session_id == session))
        assert "input" not in event.payload and "lastAppResponse" not in event.payload

    check()


# -- delivery reports and opt-outs: hostile reports move nothing backwards --------------------

report_status = st.one_of(st.sampled_from([s.value for s in DeliveryStatus]),
                          st.sampled_from(["success", "SUCCESS", "Sent ", "", "Delivered"]),
                          hostile_text)


@given(st.lists(st.tuples(report_status, st.sampled_from(NUMBERS), st.sampled_from(
    ["", "UserInBlackList", "userinblacklist", "InsufficientCredit", "x" * 50, "\x00"])),
    min_size=1, max_size=6))
@ENDPOINT_FUZZ
def test_delivery_reports_in_any_order_only_move_a_message_forward(world, client, reports):
    at_id = unique("ATXid_sent")
    with world.sessions.begin() as db:
        org_id = db.scalar(select(Organization.id).where(Organization.code == "makueni"))
        message = OutboxMessage(organization_id=org_id, msisdn=PHONE, body="Hello",
                                status=OutboxStatus.SENT, backend="at", at_message_id=at_id)
        db.add(message)
    seen: list[str | None] = [None]
    for status, retry, reason in reports:
        form = {**VALID["/at/sms/delivery"], "id": at_id, "status": status,
                "retryCount": retry, "failureReason": reason}
        assert client.post("/at/sms/delivery", data=form).status_code == 200
        with world.sessions() as db:
            now = db.get(OutboxMessage, message.id)
        assert now.status == OutboxStatus.SENT
        assert delivery_reports.rank(now.delivery_status) >= delivery_reports.rank(seen[-1])
        if seen[-1] in delivery_reports.FINAL:
            assert now.delivery_status == seen[-1]  # a final state is never replaced
        seen.append(now.delivery_status)


@given(st.one_of(hostile_text, st.sampled_from(["99999", "1548 ", "40014\x00", "AFRICASTKNG"])),
       st.one_of(hostile_text, st.sampled_from(PHONES)))
@ENDPOINT_FUZZ
def test_an_opt_out_for_a_sender_or_number_not_ours_changes_nothing(world, client, sender,
                                                                     phone):
    before = counts(world)
    response = client.post("/at/sms/optout", data={"senderId": sender, "phoneNumber": phone})
    assert response.status_code in (200, 400)
    if sender.strip() not in (MAKUENI_SMS, NANDI_SMS):
        assert changed(before, counts(world)) == {}


def test_every_at_callback_the_app_serves_is_fuzzed(app):
    """A new callback route fails here until its form is in VALID (or it has its own file)."""
    served = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/at/")}
    assert served == {*ENDPOINTS, VOICE}
