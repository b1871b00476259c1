"""Suggesting a budget idea by USSD, driven with raw forms exactly as AT posts them, on both
stacks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.models import Contact, Cycle, Phase, Place, Proposal
from app.engine import load_flows
from app.pb import ballots, cycles
from app.pb.idea_flow import TEXT_LENGTH, idea_cost, idea_text
from app.services.organizations import organization_by_code
from app.settings import Settings
from tests.factories import add_contact
from tests.pb_phone import PHONE, Phone, forget_session, lose_the_final_reply_once
from tests.pb_support import add_cycle, move
from tests.sms_support import post_sms, run_jobs

NAV = "0. Back\n00. Main menu"
MENU = ("CON Makueni County\n1. Vote on the budget\n2. Projects in my ward\n"
        "3. Complaints and feedback\n4. Language")
MENU_WITH_IDEAS = ("CON Makueni County\n1. Vote on the budget\n2. Suggest a project idea\n"
                   "3. Projects in my ward\n4. Complaints and feedback\n5. Language")
DESCRIBE = "CON Your idea in a few words, e.g. Borehole at the market:\n" + NAV
COST = "CON Rough cost in KES? A whole number, e.g. 400000\n" + NAV
NEXT_CODE = 5  # the fixture's cycle holds proposals 1 to 4


@pytest.fixture
def resident(client):
    return Phone(client)


def collecting(runtime, ward: str | None = "0431", language: str = "en"):
    """Tulimani's cycle collecting ideas; the resident's ward as given (None: not known)."""
    fx = add_cycle(runtime, open_voting=False)
    add_contact(runtime, "makueni", PHONE, language)
    if ward is not None:
        with runtime.sessions.begin() as db:
            db.scalar(select(Contact).where(Contact.msisdn == PHONE)).ward_id = fx.ward_ids[ward]
    return fx


def ideas(runtime) -> list[tuple]:
    """(organization, code, title, description, cost, status, via, place) of every idea."""
    with runtime.sessions() as db:
        rows = db.execute(select(Cycle.organization_id, Proposal.code, Proposal.title,
                                 Proposal.description, Proposal.cost, Proposal.status,
                                 Proposal.submitted_via, Proposal.place_id)
                          .join(Cycle, Proposal.cycle_id == Cycle.id)
                          .where(Proposal.submitted_via != "console").order_by(Proposal.id))
        return [tuple(row) for row in rows]


def test_a_resident_with_no_known_ward_picks_it_and_suggests_an_idea(runtime, resident):
    fx = collecting(runtime, ward=None)
    assert resident.dial() == MENU_WITH_IDEAS
    # the ward is asked as the vote flow asks it
    assert resident.press("2") == "CON Choose your sub-county\n1. Kilome\n2. Mbooni\n" + NAV
    assert resident.press("2") == "CON Choose your ward\n1. Mbooni\n2. Tulimani\n" + NAV
    assert resident.press("2") == DESCRIBE
    assert resident.press("Solar lights at  Kalawa market") == COST
    assert resident.press("120,000") == ("CON Idea: Solar lights at Kalawa market\n"
                                         "For: Tulimani\nCost: KES 120,000\n"
                                         "1. Confirm\n2. Cancel\n" + NAV)
    assert ideas(runtime) == []  # nothing is stored before confirming
    assert resident.press("1") == (f"END Thank you. Your idea is number {NEXT_CODE} in "
                                   "Tulimani 2026/27. Officers will review it.")
    assert ideas(runtime) == [(fx.organization_id, NEXT_CODE, "Solar lights at Kalawa market",
                               "Solar lights at Kalawa market", 120_000, "submitted", "ussd",
                               fx.ward_ids["0431"])]
    with runtime.sessions() as db:  # the ward is remembered: SMS ideas and the next dial
        assert db.scalar(select(Contact.ward_id)) == fx.ward_ids["0431"]
    resident.dial()
    assert resident.press("2") == DESCRIBE


def test_corrections_for_a_bad_description_and_a_mistyped_cost(runtime, resident):
    fx = collecting(runtime)
    resident.dial()
    assert resident.press("2") == DESCRIBE  # the contact's ward is known: no questions
    assert resident.press("ab") == ("CON Please describe your idea in 3 to 100 characters.\n"
                                    + DESCRIBE[4:])
    assert resident.press("Footbridge on Kaiti river") == COST
    assert resident.press("about 50k") == ("CON Please type the cost in numbers only, "
                                           "e.g. 400000.\n" + COST[4:])
    # more than the cycle's whole budget: asked again, with the budget
    assert resident.press("2M") == ("CON That is more than the whole budget (KES 700K). "
                                    "Rough cost in KES?\n" + NAV)
    assert resident.press("250 000").startswith("CON Idea: Footbridge on Kaiti river\n"
                                                "For: Tulimani\nCost: KES 250,000\n")
    resident.press("1")
    assert [(row[1], row[4], row[7]) for row in ideas(runtime)] == [
        (NEXT_CODE, 250_000, fx.ward_ids["0431"])]


def test_a_long_description_is_shortened_on_the_summary_only(runtime, resident):
    collecting(runtime)
    text = "Piped water from the Kaiti river to every home of the upper Tulimani villages and "
    text += "the market places."
    assert len(text) == 100
    resident.dial()
    resident.press("2")
    assert resident.press(text + " and more").startswith(
        "CON Please describe your idea in 3 to 100 characters.\n")
    resident.press(text)
    summary = resident.press("400K")
    assert summary.startswith("CON Idea: Piped water from the Kaiti river to every home of...\n"
                              "For: Tulimani\nCost: KES 400,000\n1. Confirm"), summary
    resident.press("1")
    [row] = ideas(runtime)
    assert (row[2], row[3], row[4]) == (text, text, 400_000)


def test_cancel_stores_nothing(runtime, resident):
    collecting(runtime)
    resident.dial()
    resident.press("2", "Street lights at the stage", "90000")
    assert resident.press("2") == "END Cancelled. Your idea was not sent."
    assert ideas(runtime) == []


def test_a_retried_confirm_stores_one_idea(runtime, resident):
    collecting(runtime)
    resident.dial()
    resident.press("2", "Water tank at Kalawa school", "80000")
    thanks = resident.press("1")
    assert thanks.startswith(f"END Thank you. Your idea is number {NEXT_CODE} in ")
    assert resident.post() == thanks  # AT retries the hop: the same bytes, nothing applied
    forget_session(runtime, resident)
    assert resident.post() == "END Your session has expired. Please dial again."
    assert len(ideas(runtime)) == 1


def test_a_confirm_whose_reply_was_lost_stores_one_idea(runtime, resident, monkeypatch):
    """The idea is committed but the session could not be saved: AT's retry resumes from the
    summary, finds the idea stored, and shows its number again."""
    collecting(runtime)
    resident.dial()
    resident.press("2", "Water tank at Kalawa school", "80000")
    lose_the_final_reply_once(runtime, monkeypatch)
    assert resident.press("1") == "END Sorry, something went wrong. Please try again."
    assert len(ideas(runtime)) == 1
    assert resident.post() == (f"END Thank you. Your idea is number {NEXT_CODE} in "
                               "Tulimani 2026/27. Officers will review it.")
    assert len(ideas(runtime)) == 1


def test_sms_and_ussd_ideas_are_stored_alike_and_once(client, runtime, resident):
    fx = collecting(runtime)
    post_sms(client, "IDEA 80000 Water tank at Kalawa school", at_id="ATXid_idea")
    run_jobs(runtime)
    resident.dial()
    resident.press("2", "Street lights at the stage", "90000")
    assert resident.press("1").startswith(f"END Thank you. Your idea is number {NEXT_CODE + 1} ")
    by_sms, by_ussd = ideas(runtime)
    assert by_sms == (fx.organization_id, NEXT_CODE, "Water tank at Kalawa school",
                      "Water tank at Kalawa school", 80_000, "submitted", "sms",
                      fx.ward_ids["0431"])
    assert by_ussd == (fx.organization_id, NEXT_CODE + 1, "Street lights at the stage",
                       "Street lights at the stage", 90_000, "submitted", "ussd",
                       fx.ward_ids["0431"])
    # the very idea already sent (same text, cost and place) is the same proposal
    resident.dial()
    resident.press("2", "Water tank at Kalawa school", "80000")
    assert resident.press("1").startswith(f"END Thank you. Your idea is number {NEXT_CODE} ")
    assert len(ideas(runtime)) == 2


# -- when ideas are not being collected ------------------------------------------------------


def test_no_cycle_collecting_ideas_leaves_the_menu_as_it_was(runtime, resident):
    add_cycle(runtime)  # voting, not collecting
    add_contact(runtime, "makueni", PHONE, "en")
    assert resident.dial() == MENU


def test_a_place_whose_cycle_is_not_collecting_ends_politely(runtime, resident):
    fx = collecting(runtime)
    move(runtime, fx.cycle_id, Phase.REVIEW)
    with runtime.sessions.begin() as db:  # Kasikeu collects ideas; Tulimani no longer does
        org = organization_by_code(db, "makueni")
        kasikeu = db.scalar(select(Place).where(Place.code == "0437"))
        cycles.create_cycle(db, organization_id=org.id, name="Kasikeu 2027/28",
                            round_name="2027/28", place=kasikeu, budget=500_000,
                            ballot_type="approval")
    assert resident.dial() == MENU_WITH_IDEAS
    assert resident.press("2") == "END We are not collecting budget ideas for Tulimani now."
    assert ideas(runtime) == []


def test_collection_closing_mid_session_is_said_plainly(runtime, resident):
    fx = collecting(runtime)
    resident.dial()
    move(runtime, fx.cycle_id, Phase.REVIEW)  # between the menu and the choice
    assert resident.press("2") == "END We are not collecting budget ideas now."
    with runtime.sessions.begin() as db:  # phases only move forward: a new cycle collects
        cycle = db.get(Cycle, fx.cycle_id)
        fresh_id = cycles.create_cycle(db, organization_id=cycle.organization_id,
                                       name="Tulimani 2027/28", round_name="2027/28",
                                       place=cycle.place, budget=500_000,
                                       ballot_type="approval").id
    resident.dial()
    resident.press("2", "Borehole at the stage", "300000")
    move(runtime, fresh_id, Phase.REVIEW)  # between the summary and the confirm
    assert resident.press("1") == ("END Sorry, we have stopped taking ideas. Your idea was "
                                   "not sent.")
    assert ideas(runtime) == []


# -- Kiswahili ---------------------------------------------------------------------------------


def test_kiswahili_screens(runtime, resident):
    fx = collecting(runtime, language="sw")
    nav = "0. Rudi\n00. Menyu kuu"
    assert resident.dial() == ("CON Makueni County\n1. Piga kura ya bajeti\n"
                               "2. Pendekeza wazo la mradi\n3. Miradi ya wadi yangu\n"
                               "4. Malalamiko na maoni\n5. Lugha")
    assert resident.press("2") == ("CON Wazo lako kwa maneno machache, mfano Kisima sokoni:\n"
                                   + nav)
    assert resident.press("Kisima cha shule") == (
        "CON Makadirio ya gharama kwa KES? Nambari kamili, mfano 400000\n" + nav)
    assert resident.press("elfu hamsini") == (
        "CON Tafadhali andika gharama kwa tarakimu tu, mfano 400000.\n"
        "Makadirio ya gharama kwa KES? Nambari kamili, mfano 400000\n" + nav)
    assert resident.press("1M") == ("CON Hiyo inazidi bajeti yote (KES 700K). Makadirio ya "
                                    "gharama kwa KES?\n" + nav)
    assert resident.press("50000") == ("CON Wazo: Kisima cha shule\nMahali: Tulimani\n"
                                       "Gharama: KES 50,000\n1. Thibitisha\n2. Ghairi\n" + nav)
    assert resident.press("1") == (f"END Asante. Wazo lako ni nambari {NEXT_CODE} katika "
                                   "Tulimani 2026/27. Maafisa watalipitia.")
    assert [row[3] for row in ideas(runtime)] == ["Kisima cha shule"]
    resident.dial()
    resident.press("2", "Daraja", "5000")
    assert resident.press("2") == "END Imeghairiwa. Wazo lako halikutumwa."
    move(runtime, fx.cycle_id, Phase.REVIEW)
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        cycles.create_cycle(db, organization_id=org.id, name="Kasikeu 2027/28",
                            round_name="2027/28",
                            place=db.scalar(select(Place).where(Place.code == "0437")),
                            budget=500_000, ballot_type="approval")
    resident.dial()
    assert resident.press("2") == "END Hatupokei mawazo ya bajeti kwa Tulimani sasa."


# -- validators --------------------------------------------------------------------------------


def test_validators():
    describe = load_flows(Settings().flows_dir)["idea"].nodes["describe"]
    assert describe.max_length == TEXT_LENGTH  # the flow keeps what the validator allows
    assert idea_text("  Borehole   at the market ").value == "Borehole at the market"
    assert [hasattr(idea_text(t), "error") for t in ("", "ab", "123 456", "x" * 101)] == [
        True] * 4
    assert [getattr(idea_cost(t), "value", None) for t in (
        "400000", "400,000", "400 000", "400K", "1.2M", "9" * 12, "0", "-5", "abc", "9" * 13, "")
    ] == ["400000", "400000", "400000", "400000", "1200000", "9" * 12] + [None] * 5


def test_a_registered_voter_files_ideas_where_they_vote(runtime, resident):
    """A place registered for a round collecting ideas wins over the contact's ward, as in
    SMS."""
    fx = collecting(runtime, ward="0432")  # the contact's ward is Mbooni
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fx.cycle_id)
        ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round, PHONE,
                               db.get(Place, fx.ward_ids["0431"]))
    resident.dial()
    assert "\nFor: Tulimani\n" in resident.press("2", "Market shade", "60000")
    resident.press("1")
    assert [row[7] for row in ideas(runtime)] == [fx.ward_ids["0431"]]
