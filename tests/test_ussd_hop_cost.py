"""What a USSD hop costs the database, and reference data kept between hops staying correct."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.db.models import Contact, Cycle, Phase, Place, ProposalStatus
from app.pb import cycles
from app.services import contacts
from app.services.flow_host import session_vars
from app.services.hop_cache import HopCache, Revision
from app.services.hop_db import HopSessions
from app.services.organizations import organization_by_code
from tests.factories import add_contact
from tests.pb_phone import PHONE, Phone
from tests.pb_support import add_cycle, move, stored_ballots

NAV = "0. Back\n00. Main menu"
OTHER = "+254712345679"
# Vote, Mbooni sub-county, Tulimani ward, Yes, proposals 1 and 3, Done, Confirm, No questions.
SESSION = ("1", "2", "2", "1", "1", "3", "99", "1", "2")


@pytest.fixture
def voter(client, runtime):
    return Phone(client)


@pytest.fixture
def checkouts(runtime) -> list[int]:
    """Connections taken from the pool (each one pre-pinged on PostgreSQL)."""
    taken: list[int] = []
    event.listen(runtime.db, "checkout", lambda *_: taken.append(1))
    return taken


@pytest.fixture
def statements(runtime) -> list[str]:
    """SQL sent to the database (pre-pings, BEGIN and COMMIT are not statements here)."""
    sent: list[str] = []
    event.listen(runtime.db, "before_cursor_execute", lambda *a: sent.append(a[2]))
    return sent


@pytest.mark.parametrize("stack", ["prod"])  # dev sends the receipt SMS inline, in the hop
def test_a_voting_session_takes_one_connection_per_hop_at_most(runtime, voter, checkouts):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    per_hop = []
    for key in SESSION:
        checkouts.clear()
        reply = voter.press(key)
        per_hop.append(len(checkouts))
    assert reply.startswith("END Thank you. Your vote is recorded.")
    assert len(stored_ballots(runtime, fx.cycle_id)) == 1
    # Sub-county and ward lists, "Vote in Tulimani?", the two picks and the summary come
    # from the hop cache and Redis; each other hop reads or writes in one transaction.
    assert per_hop == [1, 0, 0, 1, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("stack", ["prod"])
def test_what_each_hop_of_a_voting_session_asks_the_database(runtime, client, voter,
                                                             statements):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    add_contact(runtime, "makueni", OTHER, "en")
    other = Phone(client, OTHER)
    other.dial()  # now the hop cache holds the county, its places and the cycle
    other.press(*SESSION)
    statements.clear()
    voter.dial()
    per_hop = [len(statements)]
    for key in SESSION:
        statements.clear()
        voter.press(key)
        per_hop.append(len(statements))
    assert len(stored_ballots(runtime, fx.cycle_id)) == 2
    # Dial: the caller's language and PMC seats (the county comes from the hop cache). Vote:
    # the voter's registered place, their contact. Yes: the current ballot, then place and
    # ward registered with one upsert each. Confirm: the voter's place, the new receipt's
    # check, the contact; the cast reads the voter's ballot and the cycle, writes ballot,
    # choices (one executemany), participation, then the receipt SMS. No questions: the
    # contact's profile, one INSERT ... SELECT.
    assert per_hop == [2, 2, 0, 0, 3, 0, 0, 0, 9, 1]


def test_a_changed_organization_is_seen_from_the_next_session(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    first = voter.dial()
    assert first.startswith("CON Makueni County\n1. Vote on the budget\n2. Projects")
    with runtime.sessions.begin() as db:  # renamed, and a cycle starts collecting ideas
        organization = organization_by_code(db, "makueni")
        organization.name = "Makueni County Govt"
        cycles.create_cycle(db, organization_id=organization.id, name="Kilome ideas",
                            round_name="2027/28", place=db.get(Place, fx.ward_ids["0432"]),
                            budget=500_000, ballot_type="approval")
    assert voter.dial().startswith(
        "CON Makueni County Govt\n1. Vote on the budget\n2. Suggest a project idea\n")


@pytest.mark.parametrize("known", [False, True])
def test_a_first_hops_variables_are_what_session_vars_says(runtime, voter, known):
    add_cycle(runtime)
    if known:
        add_contact(runtime, "makueni", PHONE, "sw")
    voter.dial()
    stored = dict(runtime.ussd.store.get(voter.session).state["vars"])
    assert stored.pop("session_id") == voter.session
    with runtime.sessions() as db:
        organization = organization_by_code(db, "makueni")
        contact = contacts.find_contact(db, organization.id, PHONE)
        assert stored == session_vars(db, organization, contact)


def test_saving_a_language_or_ward_is_one_upsert_and_updates_a_loaded_contact(runtime):
    fx = add_cycle(runtime)
    ward, other = fx.ward_ids["0431"], fx.ward_ids["0432"]
    with runtime.sessions.begin() as db:
        org_id = organization_by_code(db, "makueni").id
        contacts.settle_ward(db, org_id, PHONE, ward)  # a new contact, with its ward
        contacts.set_language(db, org_id, PHONE, "sw")
        loaded = contacts.find_contact(db, org_id, PHONE)
        assert (loaded.language, loaded.ward_id, loaded.consent_at is not None) == \
            ("sw", ward, True)
        contacts.set_language(db, org_id, PHONE, "en")
        contacts.settle_ward(db, org_id, PHONE, other)  # the first ward stays
        assert (loaded.language, loaded.ward_id) == ("en", ward)
    with runtime.sessions() as db:
        saved = contacts.find_contact(db, org_id, PHONE)
        assert (saved.language, saved.ward_id) == ("en", ward)
        assert len(db.scalars(select(Contact)).all()) == 1


def test_an_officers_edit_is_seen_from_the_next_hop(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    assert voter.press("1") == "CON Choose your sub-county\n1. Kilome\n2. Mbooni\n" + NAV
    with runtime.sessions.begin() as db:  # renamed while the list is on the phone
        db.get(Place, fx.ward_ids["0431"]).name = "Tulimani East"
    assert voter.press("2") == "CON Choose your ward\n1. Mbooni\n2. Tulimani East\n" + NAV
    voter.press("2", "1")
    with runtime.sessions.begin() as db:  # rejected while the ballot is on the phone
        cycle = db.get(Cycle, fx.cycle_id)
        next(p for p in cycle.proposals if p.code == 1).status = ProposalStatus.REJECTED
    assert "Borehole" not in voter.press("3")
    move(runtime, fx.cycle_id, Phase.CLOSED)
    assert voter.press("99") == "END Sorry, voting has closed. Your vote was not recorded."


def test_cached_values_are_built_again_after_a_bump_or_when_too_old(runtime):
    now = [0.0]
    revision = Revision(None)
    cache = HopCache(revision, clock=lambda: now[0], max_age=60)
    built: list[int] = []

    def build() -> int:
        built.append(1)
        return len(built)

    assert [cache.get("k", build), cache.get("k", build)] == [1, 1]
    revision.bump()
    assert cache.get("k", build) == 2
    now[0] = 61.0  # a write the revision never saw (SQL by hand) is picked up in time
    assert cache.get("k", build) == 3


def test_a_commit_through_the_tracked_sessionmaker_bumps_the_revision(runtime):
    revision = Revision(None)
    revision.track(runtime.sessions)
    fx = add_cycle(runtime)
    before = revision.current()
    with runtime.sessions.begin() as db:  # reading, or writing something else, changes nothing
        db.get(Cycle, fx.cycle_id)
    assert revision.current() == before
    with runtime.sessions.begin() as db:
        db.get(Cycle, fx.cycle_id).proposals[0].title = "Borehole at Kalawa market (phase 2)"
    assert revision.current() != before


def test_outside_a_hop_each_session_is_its_own(runtime):
    sessions = HopSessions(runtime.sessions)
    with sessions() as first, sessions() as second:
        assert first is not second
    with sessions.hop():
        with sessions() as first, sessions() as second:
            assert first is second
