"""Hostile input on AT's voice callback /at/voice (issue 7), through app.test_client().

Whatever arrives (any field changed, repeated or left out, arbitrary unicode, huge values,
non-numeric isActive, dtmfDigits or durationInSeconds, a hostile `turn`, a raw body), the reply
is a voice document AT can run (tests/voice_support.py: `<Response>` root, AT's actions only),
never a 5xx; a wrong token gets 403 and stores nothing. Walks of hostile key presses follow
each reply's callbackUrl as AT does.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.test_fuzz_at_endpoints import (
    ENDPOINT_FUZZ,
    INJECTIONS,
    MISSING,
    TOKEN,
    changed,
    counts,
    hostile_text,
    raw_bodies,
    unique,
)
from tests.voice_support import VOICE_NUMBER, check_reply, final_form, voice_form

NUMBERS = ["1", "0", "-1", "35.0", "1e3", "inf", "-inf", "1e400", "nan", "abc", "", " ",
           "9" * 30, "٣", "0x1f"]
FIELDS = ["isActive", "sessionId", "direction", "callerNumber", "destinationNumber",
          "dtmfDigits", "recordingUrl", "durationInSeconds", "currencyCode", "amount",
          "hangupCause", "dialDestinationNumber", "dialDurationInSeconds"]
value = st.one_of(hostile_text, st.sampled_from(NUMBERS + [
    VOICE_NUMBER, " 254711082548", "+254722000111", " 254722000111", "Inbound", "Outbound",
    "https://voice.africastalking.com/recordings/x.mp3", "javascript:alert(1)", "NORMAL_CLEARING"]))
field = st.one_of(value, st.lists(value, min_size=2, max_size=3), st.just(MISSING))


@st.composite
def voice_forms(draw) -> dict[str, object]:
    """A call's step or final notification with fields changed, repeated or left out."""
    kind = draw(st.sampled_from(["step", "final", "nothing"]))
    base = {"step": lambda: voice_form(unique("ATVId_fuzz")),
            "final": lambda: final_form(unique("ATVId_end")), "nothing": dict}[kind]()
    changes = draw(st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)),
                                   field, max_size=6))
    form = {**base, **changes}
    return {name: v for name, v in form.items() if v is not MISSING}


turns = st.one_of(st.none(), st.sampled_from(["", "1", "2", "0", "-1", "abc", "9" * 30, "1.5",
                                              "%00", "1\x00"]), st.text(max_size=10))


@pytest.fixture
def voice_world(runtime):
    from tests.factories import add_counties

    add_counties(runtime)
    return runtime


RESCUED = "voice callback failed"  # app.tickets.voice_line: answer() raised, a fallback went out


def test_any_voice_callback_gets_a_document_at_can_run(voice_world, client, caplog):
    @settings(ENDPOINT_FUZZ, max_examples=200)
    @given(voice_forms(), turns)
    @example(final_form("ATVId_inf", durationInSeconds="inf"), None)  # OverflowError: a 500
    @example(final_form("ATVId_big", dialDurationInSeconds="1e400"), None)
    @example(voice_form("ATVId_\x00nul"), None)  # was rescued on PostgreSQL: NUL in a query
    @example(voice_form("ATVId_nul", dtmfDigits="1\x00", callerNumber="+2547\x0022000111"), "1")
    @example({**voice_form("ATVId_rep"), "isActive": ["1", "0"], "dtmfDigits": ["1", "2"]}, "1")
    def check(form, turn):
        query = {} if turn is None else {"turn": turn}
        response = client.post("/at/voice", query_string=query, data=form)
        assert response.status_code < 500, response.get_data(as_text=True)[:200]
        check_reply(response)
        assert RESCUED not in caplog.text  # answered, not rescued

    check()


def test_any_voice_body_gets_no_5xx(voice_world, client):
    @settings(ENDPOINT_FUZZ, max_examples=100)
    @given(raw_bodies)
    def check(raw):
        body, content_type = raw
        before = counts(voice_world)
        response = client.post("/at/voice", data=body, content_type=content_type)
        assert response.status_code < 500, response.get_data(as_text=True)[:200]
        if response.status_code == 200:
            check_reply(response)
        else:
            assert changed(before, counts(voice_world)) == {}

    check()


def test_a_wrong_token_on_the_voice_line_gets_403_and_stores_nothing(voice_world, client):
    voice_world.settings = voice_world.settings.with_overrides(callback_token=TOKEN)

    @settings(ENDPOINT_FUZZ, max_examples=100)
    @given(st.one_of(st.just(None), hostile_text, st.sampled_from(
        [TOKEN[:-1], TOKEN + "x", f" {TOKEN}", "", "%00"])), voice_forms())
    def check(token, form):
        before = counts(voice_world)
        query = {} if token is None else {"token": token}
        response = client.post("/at/voice", query_string=query, data=form)
        assert response.status_code == 403
        assert changed(before, counts(voice_world)) == {}

    check()
    check_reply(client.post("/at/voice", query_string={"token": TOKEN}, data=voice_form()))


keys = st.one_of(st.sampled_from(["1", "2", "3", "0", "9", "#", "*", "1#", "", "11", "99"]),
                 st.sampled_from(INJECTIONS).filter(lambda text: len(text) < 100),
                 st.text(max_size=8))


@given(st.lists(st.tuples(keys, st.sampled_from(
    ["", "https://voice.africastalking.com/recordings/a.mp3", "ftp://x", "<x>"])),
    min_size=1, max_size=8), st.sampled_from(["+254722000111", " 254722000111", "0722000111",
                                              "", "+1", "anonymous"]))
@settings(ENDPOINT_FUZZ, max_examples=80)
def test_a_call_of_hostile_key_presses_gets_a_document_at_every_step(voice_world, client, caplog,
                                                                     steps, caller):
    session = unique("ATVId_walk")
    reply = check_reply(client.post("/at/voice", data=voice_form(session, caller=caller)))
    for digits, recording in steps:
        asks = [a for a in reply.actions if a.tag in ("GetDigits", "Record")]
        if not asks:
            break  # the call is over, dialled out or queued
        reply = check_reply(client.post(reply.next_url(), data=voice_form(
            session, caller=caller, dtmfDigits=digits, recordingUrl=recording)))
    final = client.post("/at/voice", data=final_form(session, caller=caller))
    assert final.status_code == 200
    assert RESCUED not in caplog.text  # answered, not rescued
