"""The USSD callback, driven with raw forms exactly as AT posts them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.models import Contact
from tests.factories import MAKUENI_USSD, NANDI_USSD, add_contact, add_counties

PHONE = "+254712345678"
MENU_EN = ("CON Makueni County\n1. Vote on the budget\n2. Projects in my ward\n"
           "3. Complaints and feedback\n4. Language")
FIRST_DIAL = ("CON Karibu! Welcome!\nChagua lugha / Choose language\n1. English\n"
              "2. Kiswahili\n00. Main menu")


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


def hop(client, text, session="ATUid_1", phone=PHONE, code=MAKUENI_USSD, query=""):
    form = {"sessionId": session, "serviceCode": code, "phoneNumber": phone,
            "networkCode": "63902", "text": text}
    return client.post(f"/at/ussd{query}", data=form)


def body(response) -> str:
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith(("CON ", "END ")), text
    assert len(text) <= 160, (len(text), text)
    return text


def test_first_dial_asks_for_language(client):
    assert body(hop(client, "")) == FIRST_DIAL


def test_choosing_english_shows_menu_and_remembers_language(client, runtime):
    hop(client, "")
    assert body(hop(client, "1")) == MENU_EN
    with runtime.sessions() as db:
        contact = db.scalar(select(Contact).where(Contact.msisdn == PHONE))
        assert contact.language == "en" and contact.consent_at is not None
    # the next session goes straight to the menu
    assert body(hop(client, "", session="ATUid_2")) == MENU_EN


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["", "1", "1*4"], "CON Choose your language\n1. English\n2. Kiswahili\n0. Back\n"
                           "00. Main menu"),
        (["", "1", "1*4", "1*4*0"], MENU_EN),  # back
        (["", "1", "1*4", "1*4*00"], MENU_EN),  # main menu
        (["", "1", "1*9"], "CON Invalid choice.\n" + MENU_EN[4:]),
        (["", "1", "1*abc"], "CON Invalid choice.\n" + MENU_EN[4:]),
        (["", "1", "1*"], "CON Invalid choice.\n" + MENU_EN[4:]),  # empty input
        (["", "1", "1*1"], "END Budget voting is not open here yet. When it opens you will be "
                           "able to vote from this menu."),
        (["", "1", "1*0"], "CON Invalid choice.\n" + MENU_EN[4:]),  # nothing to go back to
    ],
)
def test_hops(client, texts, expected):
    for text in texts[:-1]:
        body(hop(client, text))
    assert body(hop(client, texts[-1])) == expected


def test_complaints_offer_the_phone_line_only_where_there_is_one(client):
    # Makueni has no voice line in these counties; Nandi's is 1548 (menu in Kiswahili first).
    for text in ("", "1"):
        body(hop(client, text))
    assert body(hop(client, "1*3")) == ("CON Complaints and feedback\n1. Make a complaint\n"
                                        "2. Check a complaint\n0. Back\n00. Main menu")
    for text in ("", "1", "1*3"):
        reply = body(hop(client, text, session="ATUid_9", code=NANDI_USSD))
    assert reply.endswith("2. Check a complaint\n3. Call us\n0. Back\n00. Main menu")
    assert body(hop(client, "1*3*3", session="ATUid_9", code=NANDI_USSD)) == (
        "END Please call 1548 to talk to us.")


def test_kiswahili_makes_every_later_screen_kiswahili(client):
    hop(client, "")
    menu = body(hop(client, "2"))
    assert menu.startswith("CON Makueni County\n1. ")
    assert "Vote on the budget" not in menu
    later = body(hop(client, "2*4"))
    assert "Choose your language" not in later and "0. " in later


def test_retried_hop_is_answered_identically_and_applied_once(client, runtime):
    hop(client, "")
    first = body(hop(client, "1"))
    hop(client, "1*4")
    hop(client, "1*4*2")  # switch to Kiswahili
    with runtime.sessions() as db:
        assert db.scalar(select(Contact.language).where(Contact.msisdn == PHONE)) == "sw"
    # AT retries "1" late: the stored reply of that hop is gone, the latest reply stands
    retry = body(hop(client, "1*4*2"))
    assert retry == body(hop(client, "1*4*2"))
    assert first != retry


def test_same_text_twice_changes_nothing(client, runtime):
    hop(client, "")
    replies = [body(hop(client, "2")) for _ in range(3)]
    assert len(set(replies)) == 1
    with runtime.sessions() as db:
        assert db.query(Contact).count() == 1


def test_one_input_without_a_stored_session_is_applied_from_the_start(client, runtime):
    add_contact(runtime, "makueni", PHONE, "en")
    # a code dialled with its answer built in (*483*1*4#) arrives as text "4" on a new session
    assert body(hop(client, "4", session="fresh")).startswith("CON Choose your language")


def test_a_lost_session_with_several_inputs_asks_to_dial_again(client, runtime):
    add_contact(runtime, "makueni", PHONE, "en")
    hop(client, "")
    hop(client, "4")
    if runtime.redis is not None:
        runtime.redis.flushdb()  # Redis restarted without persistence
    else:
        runtime.ussd.store._entries.clear()  # another process, or a restart
    assert body(hop(client, "4*0")) == "END Your session has expired. Please dial again."


def test_free_text_with_star_is_one_input(client, runtime):
    add_contact(runtime, "makueni", PHONE, "en")
    hop(client, "")
    reply = body(hop(client, "1*2"))  # "1*2" is one new input after "": not a valid option
    assert reply.startswith("CON Invalid choice.")


def test_each_organization_answers_its_own_code(client, runtime):
    add_contact(runtime, "nandi", PHONE, "en")
    assert body(hop(client, "", code=NANDI_USSD)).startswith("CON Nandi County\n")
    assert body(hop(client, "", code=MAKUENI_USSD, session="s2")) == FIRST_DIAL


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"serviceCode": "*999#"}, "END This service code is not in use."),
        ({"phoneNumber": "12"}, "END Sorry, we could not read your phone number."),
        ({"phoneNumber": ""}, "END Sorry, we could not read your phone number."),
        ({"phoneNumber": " 254712345678"}, FIRST_DIAL),  # a "+" that arrived as a space
        ({"sessionId": ""}, "END Sorry, something went wrong. Please try again."),
        ({"text": "1*" * 5000}, "END Your session has expired. Please dial again."),
        ({"text": "x" * 10_240}, "CON Invalid choice."),
    ],
)
def test_malformed_forms_get_a_clean_end(client, form, expected):
    base = {"sessionId": "ATUid_x", "serviceCode": MAKUENI_USSD, "phoneNumber": PHONE,
            "networkCode": "63902", "text": ""}
    base.update(form)
    assert body(client.post("/at/ussd", data=base)).startswith(expected)


def test_a_form_with_no_fields_at_all(client):
    assert body(client.post("/at/ussd", data={})).startswith("END ")


def test_token_is_required_when_set(runtime, client):
    runtime.settings = runtime.settings.with_overrides(callback_token="s3cret-token")
    assert hop(client, "").status_code == 403
    assert hop(client, "", query="?token=wrong").status_code == 403
    assert body(hop(client, "", query="?token=s3cret-token")) == FIRST_DIAL


def test_end_of_session_notification_is_stored_once(client, runtime):
    from app.db.models import UssdSessionEvent

    form = {"date": "2026-11-22 08:00:00", "sessionId": "ATUid_9", "serviceCode": MAKUENI_USSD,
            "networkCode": "63902", "phoneNumber": PHONE, "status": "Incomplete",
            "cost": "KES 0.0000", "durationInMillis": "18000", "hopsCount": "3",
            "input": "1*4", "lastAppResponse": "CON Choose", "errorMessage": ""}
    for _ in range(2):
        assert client.post("/at/ussd/events", data=form).status_code == 200
    with runtime.sessions() as db:
        events = db.scalars(select(UssdSessionEvent)).all()
        assert [(e.status, e.hops, e.duration_ms) for e in events] == [("Incomplete", 3, 18000)]
        # the keys pressed (a ballot, an ID number) are never stored next to the number
        assert "input" not in events[0].payload and "lastAppResponse" not in events[0].payload
