"""What a USSD hop costs the database, and reference data kept between hops staying correct."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.db.models import Cycle, Phase, Place, ProposalStatus
from app.services.hop_cache import HopCache, Revision
from app.services.hop_db import HopSessions
from tests.factories import add_contact
from tests.pb_phone import PHONE, Phone
from tests.pb_support import add_cycle, move, stored_ballots

NAV = "0. Back\n00. Main menu"
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
