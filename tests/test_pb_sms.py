"""Voting, receipts and ideas by SMS: raw inbound forms, answered through the outbox."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from app.db.models import Contact, Cycle, Phase, Place, Proposal, VoterPlace
from app.pb import ballots, cycles
from app.pb.sms_votes import parse_amount, parse_votes
from app.services import contacts
from app.services.organizations import organization_by_code
from tests.pb_phone import Phone
from tests.pb_support import add_cycle, stored_ballots, tag
from tests.sms_support import NANDI_SMS, PHONE, inbound, outbox, post_sms, run_jobs


def send(client, runtime, text: str, at_id: str | None = None, **fields: str) -> str:
    """Post one SMS as AT does, let the workers run, return the newest reply."""
    send.count = getattr(send, "count", 0) + 1
    response = post_sms(client, text, at_id=at_id or f"ATXid_{send.count}", **fields)
    assert response.status_code == 200
    run_jobs(runtime)
    reply = outbox(runtime)[-1].body
    assert reply.isascii(), reply
    return reply


def set_contact(runtime, ward_id: int | None, language: str | None = "en",
                msisdn: str = PHONE) -> None:
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        contact = contacts.ensure_contact(db, org.id, msisdn)
        contact.ward_id, contact.language = ward_id, language




def receipt_of(reply: str) -> str:
    return re.search(r"\b(\d{10})\b", reply).group(1)


@pytest.mark.parametrize(
    ("ballot", "text", "summary", "choices"),
    [
        ({}, "VOTE 1 3", "Your vote is recorded. Receipt: ", {1: 1, 3: 1}),
        ({}, "vote 3,1,,#4", "Your vote is recorded. Receipt: ", None),
        ({"ballot_type": "k_approval", "max_choices": 3}, "  Vote: 1, 2 , 4.",
         "Your vote is recorded. Receipt: ", {1: 1, 2: 1, 4: 1}),
        ({"ballot_type": "choose_one"}, "VOTE #2", "Your vote is recorded. Receipt: ",
         {2: 1}),
        ({"ballot_type": "cumulative", "points": 10}, "VOTE 1:6 3=2 3",
         "Your vote is recorded. Receipt: ", {1: 6, 3: 3}),
    ],
)
def test_each_ballot_type_by_sms(client, runtime, ballot, text, summary, choices):
    fx = add_cycle(runtime, **ballot)
    set_contact(runtime, fx.ward_ids["0431"])
    reply = send(client, runtime, text)
    if choices is None:  # 400K + 250K + 150K is over the budget: a correction, nothing stored
        assert reply == ("Over budget by KES 100K: your choices cost KES 800K of 700K. "
                         "Nothing was recorded.")
        assert stored_ballots(runtime, fx.cycle_id) == []
        return
    assert reply.startswith(summary) and len(reply) <= 160
    receipt = tag(runtime, fx.cycle_id, receipt_of(reply))
    assert stored_ballots(runtime, fx.cycle_id) == [(receipt, 1, choices, "sms")]
    with runtime.sessions() as db:  # the contact's ward is now their place for the round
        assert db.scalar(select(VoterPlace.place_id)) == fx.ward_ids["0431"]


@pytest.mark.parametrize(
    ("ballot", "text", "expected"),
    [
        ({}, "VOTE 1 9 x 12", "Unknown project number(s): 9, 12, x. Nothing was recorded. "
                              "Send VOTE alone for the list."),
        ({"ballot_type": "k_approval", "max_choices": 3}, "VOTE 1 2 3 4",
         "Choose at most 3 projects. Nothing was recorded."),
        ({"ballot_type": "choose_one"}, "VOTE 1 2",
         "Choose one project only. Nothing was recorded."),
        ({"ballot_type": "cumulative", "points": 10}, "VOTE 1:6 2:5",
         "You have 10 points and gave 11. Nothing was recorded."),
    ],
)
def test_corrections_record_nothing(client, runtime, ballot, text, expected):
    fx = add_cycle(runtime, **ballot)
    set_contact(runtime, fx.ward_ids["0431"])
    assert send(client, runtime, text) == expected
    assert stored_ballots(runtime, fx.cycle_id) == []
    with runtime.sessions() as db:
        assert db.scalars(select(VoterPlace)).all() == []


def test_vote_alone_lists_the_proposals(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    assert send(client, runtime, "VOTE") == (
        "Tulimani 2026/27, budget KES 700K. Send VOTE and numbers, e.g. VOTE 1 2\n"
        "1 Borehole at Kalawa 400K\n2 Maternity ward beds 300K\n"
        "3 Footbridge on Kaiti 250K\n4 Street lights 150K")


def test_kura_answers_in_kiswahili(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"], language=None)
    reply = send(client, runtime, "KURA 2 4")
    assert reply == (f"Kura yako imerekodiwa. Risiti: {receipt_of(reply)}. Unaweza kuibadilisha "
                     "hadi upigaji kura utakapofungwa.")
    assert send(client, runtime, "KURA 1 2 4").startswith("Imezidi bajeti kwa KES 150K:")


def test_a_later_vote_replaces_the_earlier_one(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    first = receipt_of(send(client, runtime, "VOTE 1"))
    second = receipt_of(send(client, runtime, "VOTE 2 3"))
    assert first != second
    assert stored_ballots(runtime, fx.cycle_id) == [(tag(runtime, fx.cycle_id, second), 2,
                                                 {2: 1, 3: 1}, "sms")]
    assert send(client, runtime, f"RECEIPT {second}") == (
        f"Receipt {second} is valid: your vote in Tulimani 2026/27 is counted.")
    assert send(client, runtime, f"receipt {first}") == (
        f"No current vote has receipt {first}. If you changed your vote, use the newest "
        f"receipt.")


def test_a_duplicate_sms_id_counts_once(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    for _ in range(3):  # AT retries until it gets its 200
        assert post_sms(client, "VOTE 1 3", at_id="ATXid_same").status_code == 200
        run_jobs(runtime)
    assert len(inbound(runtime)) == 1 and len(outbox(runtime)) == 1
    [(receipt, revision, choices, _)] = stored_ballots(runtime, fx.cycle_id)
    assert revision == 1 and choices == {1: 1, 3: 1}


def test_voters_with_no_ward_are_sent_to_the_ussd_menu(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, None)
    assert send(client, runtime, "VOTE 1") == "To vote, first choose your ward: dial *483*1#."
    assert stored_ballots(runtime, fx.cycle_id) == []


def test_the_registered_place_wins_over_the_contacts_ward(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0432"])  # the contact says Mbooni ward...
    assert send(client, runtime, "VOTE 1") == "There is no budget vote open in Mbooni now."
    with runtime.sessions.begin() as db:  # ...but they registered in Tulimani for the round
        cycle = db.get(Cycle, fx.cycle_id)
        ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round, PHONE,
                               db.get(Place, fx.ward_ids["0431"]))
    assert send(client, runtime, "VOTE 1").startswith("Your vote is recorded.")


def test_no_vote_when_voting_is_not_open(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    with runtime.sessions.begin() as db:
        cycles.move(db.get(Cycle, fx.cycle_id), Phase.CLOSED)
    assert send(client, runtime, "VOTE 1") == "Budget voting is not open now."
    assert stored_ballots(runtime, fx.cycle_id) == []


def test_national_id_rounds_are_voted_by_ussd_only(client, runtime):
    fx = add_cycle(runtime, voter_key="national_id")
    set_contact(runtime, fx.ward_ids["0431"])
    assert send(client, runtime, "VOTE 1") == ("This vote needs your national ID number. "
                                               "Please vote by dialling *483*1#.")
    assert stored_ballots(runtime, fx.cycle_id) == []


def test_an_sms_vote_replaces_an_unconfirmed_ussd_draft(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    phone = Phone(client)
    phone.dial()
    phone.press("1", "1", "1")  # the contact's ward offered, yes, then choose project 1
    send(client, runtime, "VOTE 4")
    phone.dial()
    assert phone.press("1").startswith("CON You voted; * marks your choices.\n")


# -- RECEIPT -----------------------------------------------------------------------------------


def test_receipts_are_checked_within_the_organization(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    receipt = receipt_of(send(client, runtime, "VOTE 1"))
    spaced = f"{receipt[:5]} {receipt[5:]}"
    assert send(client, runtime, f"RECEIPT {spaced}").startswith(f"Receipt {receipt} is valid")
    assert send(client, runtime, "RISITI 1234567890") == (
        "No current vote has receipt 1234567890. If you changed your vote, use the newest "
        "receipt.")
    assert send(client, runtime, "RECEIPT") == ("To check your vote, send RECEIPT and the receipt "
                                                "number, e.g. RECEIPT 1234567890")
    # Nandi's short code knows nothing of Makueni's ballots
    assert send(client, runtime, f"RECEIPT {receipt}", to=NANDI_SMS).startswith(
        f"No current vote has receipt {receipt}.")


# -- IDEA ----------------------------------------------------------------------------------


def test_an_idea_with_a_cost_becomes_a_submitted_proposal(client, runtime):
    fx = add_cycle(runtime, open_voting=False)  # collecting ideas
    set_contact(runtime, fx.ward_ids["0431"])
    assert send(client, runtime, "IDEA 1.2M Dispensary") == (
        "That cost is more than the whole budget (KES 700K). Please check it.")
    assert send(client, runtime, "IDEA Borehole at the school") == (
        "Send IDEA, a rough cost and your idea, e.g. IDEA 400000 Borehole at the market")
    assert send(client, runtime, "idea 120,000 Solar lights at  Kalawa market") == (
        "Thank you. Your idea is number 5 in Tulimani 2026/27. Officers will review it.")
    with runtime.sessions() as db:
        idea = db.scalar(select(Proposal).where(Proposal.code == 5))
        assert (idea.title, idea.cost, idea.status, idea.submitted_via, idea.place_id) == (
            "Solar lights at Kalawa market", 120_000, "submitted", "sms", fx.ward_ids["0431"])


def test_ideas_go_nowhere_when_nobody_collects_them(client, runtime):
    fx = add_cycle(runtime)  # voting, not collecting
    set_contact(runtime, fx.ward_ids["0431"], language="sw")
    assert send(client, runtime, "WAZO 50K Kisima") == "Hatupokei mawazo ya bajeti sasa."
    with runtime.sessions.begin() as db:
        cycles.move(db.get(Cycle, fx.cycle_id), Phase.CLOSED)
        org = organization_by_code(db, "makueni")
        kasikeu = db.scalar(select(Place).where(Place.code == "0437"))
        cycles.create_cycle(db, organization_id=org.id, name="Kasikeu 2027/28",
                            round_name="2027/28", place=kasikeu, budget=500_000,
                            ballot_type="approval")
    # Tulimani is not collecting; Kasikeu is
    assert send(client, runtime, "WAZO 50K Kisima") == (
        "Hatupokei mawazo ya bajeti kwa Tulimani sasa.")
    # a sender with no ward: the only cycle collecting ideas takes it
    set_contact(runtime, None, msisdn="+254700111222")
    assert send(client, runtime, "IDEA 50K Water tank", sender="+254700111222").startswith(
        "Thank you. Your idea is number 1 in Kasikeu 2027/28.")
    with runtime.sessions.begin() as db:  # two cycles collecting: which one is theirs?
        mbooni = db.scalar(select(Place).where(Place.code == "0432"))
        cycles.create_cycle(db, organization_id=mbooni.organization_id, name="Mbooni 2027/28",
                            round_name="2027/28", place=mbooni, budget=500_000,
                            ballot_type="approval")
    assert send(client, runtime, "IDEA 50K Water tank", sender="+254700111222") == (
        "We do not know your ward yet, so we cannot file your idea. Please contact "
        "Makueni County.")


def test_parsers():
    assert parse_votes(" : 3, 12 #7..", cumulative=False) == ({3: 1, 12: 1, 7: 1}, [])
    assert parse_votes("3 3 x4 3:2", cumulative=True) == ({3: 4}, ["x4"])
    assert parse_votes("3:0 4", cumulative=True) == ({4: 1}, [])
    assert [parse_amount(t) for t in ("400000", "400,000", "400K", "1.2m", "2,5M", "x", "")] == [
        400_000, 400_000, 400_000, 1_200_000, 2_500_000, None, None]


def test_no_phone_number_in_ballot_tables_after_sms_votes(client, runtime):
    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    send(client, runtime, "VOTE 1 3")
    with runtime.db.connect() as connection:
        for table in ("ballots", "ballot_choices", "voter_places"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                assert not any(PHONE[1:] in str(value) for value in row), (table, row)
    with runtime.sessions() as db:
        assert db.scalar(select(Contact.msisdn)) == PHONE


def test_how_someone_voted_by_sms_is_not_kept_next_to_their_number(client, runtime):
    from app.db.models import InboundSms, OutboxMessage

    fx = add_cycle(runtime)
    set_contact(runtime, fx.ward_ids["0431"])
    send(client, runtime, "VOTE 1 3")
    with runtime.sessions() as db:
        stored = [m.text for m in db.scalars(select(InboundSms))]
        replies = [m.body for m in db.scalars(select(OutboxMessage))]
    assert stored == ["vote [removed once answered]"]
    assert all("1" not in r.replace(receipt_of(r), "") for r in replies), replies
