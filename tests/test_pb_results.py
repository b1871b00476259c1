"""Counting a cycle's current ballots from the database, by greedy and by MES."""

from __future__ import annotations

import pytest

from app.db.models import Cycle
from app.pb import ballots
from app.pb.results import compute_results
from tests.pb_support import add_cycle
from tests.test_pb_ballots import cast


@pytest.fixture
def pb(runtime):
    # budget 700K; 1: 400K, 2: 300K, 3: 250K, 4: 150K
    return add_cycle(runtime)


def test_greedy_funds_by_support_and_skips_what_no_longer_fits(runtime, pb):
    for i, selection in enumerate([{1: 1, 3: 1}, {1: 1, 2: 1}, {3: 1, 4: 1}, {1: 1}]):
        cast(runtime, pb, selection, identity=f"+25470000010{i}")
    with runtime.sessions() as db:
        results = compute_results(db, db.get(Cycle, pb.cycle_id), "greedy")
    # support: 1=3, 3=2, 2=1, 4=1 -> fund 1 (400K), 3 (250K) -> 650K; 2 (300K) no longer
    # fits; 4 (150K) does not either (50K left)
    assert results.winners == (1, 3) and results.total_cost == 650_000
    assert [(r.code, r.support, r.funded) for r in results.proposals] == [
        (1, 3, True), (3, 2, True), (2, 1, False), (4, 1, False)]
    assert results.ballots == 4 and results.rule == "greedy"


def test_a_changed_ballot_counts_once_with_its_latest_choices(runtime, pb):
    cast(runtime, pb, {1: 1})
    cast(runtime, pb, {4: 1})
    with runtime.sessions() as db:
        results = compute_results(db, db.get(Cycle, pb.cycle_id), "greedy")
    assert results.ballots == 1 and results.winners == (4,)


def test_mes_gives_each_group_its_share(runtime):
    fixture = add_cycle(runtime, budget=600, items=[("A", 300), ("B", 300), ("C", 300)])
    # 3 voters back A and B, 2 back C: greedy funds A and B; MES gives the minority C
    groups = [{1: 1, 2: 1}] * 3 + [{3: 1}] * 2
    for i, selection in enumerate(groups):
        cast(runtime, fixture, selection, identity=f"+25470000020{i}")
    with runtime.sessions() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        assert compute_results(db, cycle, "greedy").winners == (1, 2)
        mes = compute_results(db, cycle, "mes")
    assert mes.rule == "mes+add1" and set(mes.winners) == {1, 3}


def test_cumulative_points_are_counted_as_points(runtime):
    fixture = add_cycle(runtime, ballot_type="cumulative", points=10)
    cast(runtime, fixture, {2: 7, 4: 3})
    cast(runtime, fixture, {1: 5, 4: 5}, identity="+254700000301")
    with runtime.sessions() as db:
        results = compute_results(db, db.get(Cycle, fixture.cycle_id), "greedy")
        assert ballots.selection_of(db, runtime.keyring, db.get(Cycle, fixture.cycle_id),
                                    "+254712345678") == {2: 7, 4: 3}
    assert {r.code: r.support for r in results.proposals} == {4: 8, 2: 7, 1: 5, 3: 0}
