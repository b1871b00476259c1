"""Ballots: validity per type, one voter one ballot, one place per round, and secrecy."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import inspect, select, text

from app.db.models import Ballot, Cycle, Participation, Phase, Place
from app.pb import ballots, cycles
from app.pb.ballot_rules import (
    BallotKind,
    BallotSpec,
    Problem,
    decode,
    encode,
    judge,
    remaining,
    toggle,
)
from app.pb.ballots import Refusal, VoteRefused
from app.services import contacts
from tests.pb_support import add_cycle

VOTER = "+254712345678"
SPEC = BallotSpec(BallotKind.APPROVAL, 700, {1: 400, 2: 300, 3: 250, 4: 150})


@pytest.mark.parametrize(
    ("spec", "selection", "problem"),
    [
        (SPEC, {1: 1, 2: 1}, None),  # exactly the budget
        (SPEC, {1: 1, 2: 1, 4: 1}, Problem.OVER_BUDGET),
        (SPEC, {}, Problem.EMPTY),
        (SPEC, {9: 1}, Problem.UNKNOWN_CODE),
        (BallotSpec(BallotKind.K_APPROVAL, 700, SPEC.costs, max_choices=3),
         {1: 1, 2: 1, 3: 1}, None),  # k-approval ignores cost
        (BallotSpec(BallotKind.K_APPROVAL, 700, SPEC.costs, max_choices=3),
         {1: 1, 2: 1, 3: 1, 4: 1}, Problem.TOO_MANY),
        (BallotSpec(BallotKind.CHOOSE_ONE, 700, SPEC.costs), {1: 1, 2: 1}, Problem.TOO_MANY),
        (BallotSpec(BallotKind.CUMULATIVE, 700, SPEC.costs, points=10), {1: 6, 2: 4}, None),
        (BallotSpec(BallotKind.CUMULATIVE, 700, SPEC.costs, points=10), {1: 6, 2: 5},
         Problem.TOO_MANY_POINTS),
        (BallotSpec(BallotKind.CUMULATIVE, 700, SPEC.costs, points=10), {1: 0},
         Problem.BAD_POINTS),
    ],
)
def test_judge(spec, selection, problem):
    assert judge(spec, selection).problem == problem


def test_toggle_refuses_what_breaks_the_rules_and_reports_what_is_left():
    selection, verdict = toggle(SPEC, {}, 1)
    assert verdict.ok and remaining(SPEC, selection) == 300
    same, verdict = toggle(SPEC, selection, 3)  # 400 + 250 fits
    same, verdict = toggle(SPEC, same, 2)  # 950 does not
    assert verdict.problem == Problem.OVER_BUDGET and same == {1: 1, 3: 1}
    assert toggle(SPEC, same, 1)[0] == {3: 1}  # choosing again removes
    one = BallotSpec(BallotKind.CHOOSE_ONE, 700, SPEC.costs)
    assert toggle(one, {1: 1}, 2)[0] == {2: 1}  # another choice replaces the one
    assert decode(encode({12: 1, 3: 2})) == {3: 2, 12: 1} and decode("x,3:,:4") == {}


@pytest.fixture
def pb(runtime):
    return add_cycle(runtime)


def register(runtime, fixture, identity, ward):
    """The ward question, answered and committed on its own, as the USSD flow does."""
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round,
                               identity, db.get(Place, fixture.ward_ids[ward]))


def cast(runtime, fixture, selection, identity=VOTER, ward="0431", channel="ussd"):
    register(runtime, fixture, identity, ward)
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        contact = contacts.ensure_contact(db, fixture.organization_id, VOTER)
        return ballots.cast_ballot(db, runtime.keyring, cycle, identity, selection, channel,
                                   contact.id)


def test_a_voter_changes_their_ballot_and_only_the_latest_counts(runtime, pb):
    first = cast(runtime, pb, {1: 1})
    second = cast(runtime, pb, {2: 1, 3: 1})
    assert (first.revision, second.revision) == (1, 2) and first.receipt != second.receipt
    with runtime.sessions() as db:
        assert len(db.scalars(select(Ballot)).all()) == 1
        cycle = db.get(Cycle, pb.cycle_id)
        assert ballots.selection_of(db, runtime.keyring, cycle, VOTER) == {2: 1, 3: 1}
        found = ballots.ballot_by_receipt(db, runtime.keyring, pb.organization_id, second.receipt)
        assert found is not None and found.receipt_tag != second.receipt  # kept only as a hash
        assert ballots.ballot_by_receipt(db, runtime.keyring, pb.organization_id,
                                         first.receipt) is None
        assert len(db.scalars(select(Participation)).all()) == 1


def test_a_voter_cannot_vote_in_another_wards_cycle_of_the_same_round(runtime, pb):
    # Registered in Mbooni ward, the voter cannot vote in Tulimani's cycle...
    with pytest.raises(VoteRefused) as refused:
        cast(runtime, pb, {1: 1}, identity="+254700000001", ward="0432")
    assert refused.value.refusal == Refusal.WRONG_PLACE
    # ...and the first answer stands for the round: naming Tulimani later changes nothing.
    with pytest.raises(VoteRefused):
        cast(runtime, pb, {1: 1}, identity="+254700000001", ward="0431")
    assert cast(runtime, pb, {1: 1}, identity="+254700000002", ward="0431").revision == 1


def test_closed_cycles_and_invalid_ballots_are_refused(runtime, pb):
    with pytest.raises(VoteRefused) as refused:
        cast(runtime, pb, {1: 1, 2: 1, 4: 1})
    assert refused.value.refusal == Refusal.INVALID
    assert refused.value.verdict.problem == Problem.OVER_BUDGET
    with runtime.sessions.begin() as db:
        cycles.move(db.get(Cycle, pb.cycle_id), Phase.CLOSED)
    with pytest.raises(VoteRefused) as refused:
        cast(runtime, pb, {1: 1})
    assert refused.value.refusal == Refusal.NOT_OPEN


def test_phases_move_only_in_order(runtime):
    fixture = add_cycle(runtime, open_voting=False, items=[])
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        with pytest.raises(cycles.CycleError, match="accepted proposal"):
            cycles.move(cycle, Phase.VOTING)
        with pytest.raises(cycles.CycleError, match="cannot move to published"):
            cycles.move(cycle, Phase.PUBLISHED)


def test_secrecy_no_phone_or_id_next_to_a_choice(runtime, pb):
    """Read every table: nothing in a ballot row reveals the voter, even as a plain hash."""
    national_id = "24681357"
    cast(runtime, pb, {1: 1, 2: 1})
    fixture_id = add_cycle(runtime, voter_key="national_id", ward="0437", with_counties=False)
    cast(runtime, fixture_id, {3: 1}, identity=national_id, ward="0437")
    secrets = {VOTER, VOTER.lstrip("+"), "0712345678", national_id}
    hashed = {h(s) for s in secrets for h in (_sha256, _md5)}
    with runtime.db.connect() as connection:
        for table in ("ballots", "ballot_choices"):
            columns = {c["name"] for c in inspect(connection).get_columns(table)}
            assert not columns & {"msisdn", "phone", "contact_id", "created_at", "national_id"}
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for value in map(str, row):
                    assert not any(s in value for s in secrets), (table, value)
                    assert value not in hashed, (table, value)
        # the tag is keyed: recomputing it needs the key, which is not in the database
        tags = [r[0] for r in connection.execute(text("SELECT voter_tag FROM ballots"))]
        assert runtime.keyring.ballot_tag(pb.cycle_id, VOTER) in tags
        from app.pb.voters import Keyring
        assert Keyring.from_secret("a guess").ballot_tag(pb.cycle_id, VOTER) not in tags
        # ballot ids are random, so their order says nothing of when a vote came in
        ids = [r[0] for r in connection.execute(text("SELECT id FROM ballots"))]
        assert all(len(i) == 32 and not i.isdigit() for i in ids)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _md5(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()
