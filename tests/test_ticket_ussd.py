"""Complaints by USSD: "Make a complaint" and "Check a complaint", driven with raw forms exactly
as AT posts them, on both stacks (the prod stack sends the SMS notice from an rq worker)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.db.models import (
    OutboxStatus,
    Project,
    SendLane,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketStatus,
)
from app.tickets.complaint_flow import complaint_text
from app.tickets.status_flow import ticket_reference
from tests.factories import NANDI_USSD, add_contact
from tests.pb_phone import Phone, forget_session, lose_the_final_reply_once
from tests.pmc_support import add_makueni, import_fixtures
from tests.sms_support import outbox, run_jobs
from tests.test_ticket_sms import day, mistyped, only_ticket, unused_reference
from tests.ticket_support import CALLER, NEIGHBOUR, open_one, set_ward

NAV = "0. Back\n00. Main menu"
COMPLAINTS = "CON Complaints and feedback\n1. Make a complaint\n2. Check a complaint\n" + NAV
CATEGORIES = ("CON What is it about?\n1. Service delivery\n2. A county project\n3. Corruption\n"
              "4. Compliment\n5. Enquiry\n6. Other\n" + NAV)
DESCRIBE = "CON Describe it in a few words, e.g. No water at the market since Monday:\n" + NAV
TYPE_REFERENCE = "CON Type the complaint reference, e.g. 4829137:\n" + NAV
THANKS = re.compile(r"END Thank you\. Your complaint reference is (\d{7})\. We will also send "
                    r"it by SMS\.")


@pytest.fixture(autouse=True)
def makueni(runtime):
    """Makueni with its wards; the caller chose English and lives in Wote."""
    add_makueni(runtime)
    add_contact(runtime, "makueni", CALLER, "en")
    set_ward(runtime, "makueni", CALLER, "0424")


@pytest.fixture
def caller(client) -> Phone:
    return Phone(client, CALLER)


def reference_in(screen: str) -> str:
    match = THANKS.fullmatch(screen)
    assert match, screen
    return match.group(1)


def ticket_count(runtime) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count(Ticket.id)))


def to_summary(phone: Phone, text: str = "No water at Wote market") -> str:
    """Dial, and make a service complaint in the caller's own ward, up to the summary."""
    phone.dial()
    assert phone.press("3") == COMPLAINTS
    assert phone.press("1") == CATEGORIES
    assert phone.press("1") == "CON Where is it?\n1. In Wote\n2. Another ward\n" + NAV
    assert phone.press("1") == DESCRIBE
    return phone.press(text)


# -- making a complaint ------------------------------------------------------------------------


def test_a_caller_makes_a_complaint_and_gets_the_reference_and_an_sms(runtime, caller):
    assert to_summary(caller) == ("CON Service delivery in Wote: No water at Wote market\n"
                                  "1. Confirm\n2. Cancel\n" + NAV)
    assert ticket_count(runtime) == 0  # nothing is stored before confirming
    ref = reference_in(caller.press("1"))
    made = only_ticket(runtime)
    assert (made.reference, made.msisdn, made.channel, made.category, made.description) == (
        ref, CALLER, TicketChannel.USSD, TicketCategory.SERVICE_DELIVERY,
        "No water at Wote market")
    assert (made.source_key, made.language, made.status) == (
        f"ussd:{caller.session}", "en", TicketStatus.NEW)
    run_jobs(runtime)
    [sms] = outbox(runtime)
    assert (sms.msisdn, sms.lane, sms.status, sms.body) == (
        CALLER, SendLane.NOTICE, OutboxStatus.SENT,
        f"Complaint received. Ref {ref}. We aim to resolve it by {day(runtime, made.due_at)}. "
        f"To follow it, send STATUS {ref}.")


def test_a_caller_with_no_known_ward_picks_one(runtime, caller):
    set_ward(runtime, "makueni", CALLER, None)
    caller.dial()
    caller.press("3", "1")
    assert caller.press("3") == ("CON Which sub-county?\n1. Kibwezi East\n2. Makueni\n"
                                 "3. Mbooni\n" + NAV)
    assert caller.press("2") == "CON Which ward?\n1. Kathonzweni\n2. Mavindini\n3. Wote\n" + NAV
    assert caller.press("2") == DESCRIBE
    assert caller.press("Officer asked for a bribe").startswith(
        "CON Corruption in Mavindini: Officer asked for a bribe\n1. Confirm")
    reference_in(caller.press("1"))
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
        assert (made.category, made.place.name) == (TicketCategory.CORRUPTION, "Mavindini")


def test_a_complaint_about_a_county_project_says_which(runtime, caller, monkeypatch):
    import_fixtures(runtime, monkeypatch)  # the projects of tests/data
    caller.dial()
    caller.press("3", "1", "2")  # complaints, make one, "A county project"
    projects = caller.press("1")  # in Wote, the caller's ward
    assert projects.startswith("CON Which project?\n1. Mavindini-Wote feeder road")
    assert projects.endswith("\n2. Wote dispensary maternity wing\n3. Not in this list\n" + NAV)
    assert caller.press("2") == DESCRIBE
    assert caller.press("No nurses at night").startswith(
        "CON Wote dispensary maternity wing in Wote: No nurses at night\n1. Confirm")
    reference_in(caller.press("1"))
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
        assert made.category == TicketCategory.PROJECT
        assert db.get(Project, made.project_id).code == "MK-102"


def test_another_ward_and_a_project_not_in_the_list(runtime, caller, monkeypatch):
    import_fixtures(runtime, monkeypatch)
    caller.dial()
    caller.press("3", "1", "2")
    assert caller.press("2").startswith("CON Which sub-county?")  # "Another ward"
    caller.press("3", "1")  # Mbooni, Kalawa
    assert caller.press("2") == DESCRIBE  # "Not in this list"
    assert caller.press("Thank you for the new borehole").startswith(
        "CON A county project in Kalawa: Thank you for the new borehole\n")
    reference_in(caller.press("1"))
    made = only_ticket(runtime)
    assert (made.category, made.project_id) == (TicketCategory.PROJECT, None)


def test_a_description_too_short_is_asked_again(runtime, caller):
    again = "CON Please describe it in 5 to 120 characters.\n" + DESCRIBE[4:]
    assert to_summary(caller, "ab") == again
    assert caller.press("1234567") == again  # no words at all
    assert caller.press("Road  full of   potholes").startswith(
        "CON Service delivery in Wote: Road full of potholes\n")


def test_cancel_stores_nothing(runtime, caller):
    to_summary(caller)
    assert caller.press("2") == "END Cancelled. Your complaint was not sent."
    run_jobs(runtime)
    assert ticket_count(runtime) == 0 and outbox(runtime) == []


def test_a_lost_final_reply_and_its_retry_make_one_ticket(runtime, caller, monkeypatch):
    to_summary(caller)
    lose_the_final_reply_once(runtime, monkeypatch)
    assert caller.press("1") == "END Sorry, something went wrong. Please try again."
    ref = reference_in(caller.post())  # AT retries the hop: the same ticket, shown at last
    assert caller.post() == f"END Thank you. Your complaint reference is {ref}. We will also " \
                            "send it by SMS."  # and again: answered from the session store
    forget_session(runtime, caller)
    assert caller.post() == "END Your session has expired. Please dial again."
    run_jobs(runtime)
    assert only_ticket(runtime).reference == ref
    assert [(m.msisdn, m.lane) for m in outbox(runtime)] == [(CALLER, SendLane.NOTICE)]


def test_a_complaint_in_kiswahili(runtime, client):
    add_contact(runtime, "makueni", NEIGHBOUR, "sw")
    neighbour = Phone(client, NEIGHBOUR)
    neighbour.dial()
    assert neighbour.press("3").startswith("CON Malalamiko na maoni\n1. Toa malalamiko\n")
    assert neighbour.press("1").startswith("CON Ni kuhusu nini?\n1. Utoaji wa huduma\n")
    neighbour.press("1", "2", "3")  # no ward known: Makueni, Wote
    assert neighbour.press("Hakuna maji sokoni").startswith(
        "CON Utoaji wa huduma katika Wote: Hakuna maji sokoni\n")
    end = neighbour.press("1")
    made = only_ticket(runtime)
    assert end == (f"END Asante. Kumbukumbu ya malalamiko yako ni {made.reference}. Tutaituma "
                   "pia kwa SMS.")
    run_jobs(runtime)
    [sms] = outbox(runtime)
    assert sms.body.startswith("Malalamiko yamepokelewa.")
    assert sms.body.endswith(f"tuma HALI {made.reference}.")


def nandi_hop(client, text: str) -> str:
    """A hop to Nandi's code (no places in these tests), as AT posts it."""
    response = client.post("/at/ussd", data={
        "sessionId": "ATUid_nandi", "serviceCode": NANDI_USSD, "phoneNumber": CALLER,
        "networkCode": "63902", "text": text})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_no_place_question_where_the_organization_has_no_places(runtime, client):
    add_contact(runtime, "nandi", CALLER, "en")
    for text in ("", "3"):
        nandi_hop(client, text)
    assert nandi_hop(client, "3*1") == CATEGORIES
    assert nandi_hop(client, "3*1*5") == DESCRIBE
    assert nandi_hop(client, "3*1*5*When is the next budget meeting?") == (
        "CON Enquiry: When is the next budget meeting?\n1. Confirm\n2. Cancel\n" + NAV)
    reference_in(nandi_hop(client, "3*1*5*When is the next budget meeting?*1"))
    made = only_ticket(runtime)
    assert (made.category, made.place_id) == (TicketCategory.ENQUIRY, None)


# -- checking a complaint ----------------------------------------------------------------------


def test_check_the_callers_own_complaint(runtime, caller):
    ref = open_one(runtime, org_code="makueni", notify=False)
    made = only_ticket(runtime)
    caller.dial()
    caller.press("3")
    assert caller.press("2") == TYPE_REFERENCE
    assert caller.press(f"{ref[:3]} {ref[3:]}") == (
        f"END Ref {ref}: received. Updated {day(runtime, made.updated_at)}. "
        f"Due {day(runtime, made.due_at)}.")


def test_a_mistyped_reference_is_asked_again_once(runtime, caller):
    ref = open_one(runtime, org_code="makueni", notify=False)
    wrong = mistyped(ref)
    caller.dial()
    caller.press("3", "2")
    again = (f"CON {wrong} is not a complaint reference: a digit may be mistyped. Type it "
             "again:\n" + NAV)
    assert caller.press(wrong) == again
    assert caller.press(ref).startswith(f"END Ref {ref}: received.")
    caller.dial()
    caller.press("3", "2", wrong)
    assert caller.press(wrong) == (f"END {wrong} is not a complaint reference either. Please "
                                   "check it and dial again.")


def test_someone_elses_complaint_and_an_unknown_one_show_nothing(runtime, client):
    ref = open_one(runtime, org_code="makueni", notify=False)
    add_contact(runtime, "makueni", NEIGHBOUR, "en")
    neighbour = Phone(client, NEIGHBOUR)
    for typed in (ref, unused_reference(runtime)):
        neighbour.dial()
        neighbour.press("3", "2")
        assert neighbour.press(typed) == (f"END No complaint {typed} was found for this number. "
                                          "Please check the reference.")


# -- validators --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "ok"), [("No water", True), ("  a  b  c  ", True),
                                         ("abcd", False), ("12345", False), ("x" * 121, False)])
def test_complaint_text(raw, ok):
    assert hasattr(complaint_text(raw), "value") == ok


def test_ticket_reference_keeps_what_a_keypad_adds_out():
    assert ticket_reference("482-913 7#").value == "4829137"
    assert not hasattr(ticket_reference(" # "), "value")
    for not_digits in ("*", "**", "abc", "48x9137", "²³⁴", "7"):  # asked again, not "mistyped"
        assert not hasattr(ticket_reference(not_digits), "value"), not_digits
