"""Counted results are kept per (cycle, rule) and counted again whenever what they count changes.

Counts are observed through the seam `app.pb.results_cache.compute_results`, never by timing.
"""

from __future__ import annotations

import re

import pytest

from app.db.models import Cycle, Phase
from app.pb import paper, results_cache
from app.pb.paper import PaperBallot
from app.pb.results_cache import ResultsCache
from tests.pb_support import add_cycle
from tests.test_console_pb import CYCLES, cast_four, move, rows, signed_in, text, vote


@pytest.fixture
def counts(monkeypatch) -> list[tuple[int, str | None]]:
    """(cycle id, rule) of every count the caches make."""
    seen: list[tuple[int, str | None]] = []
    real = results_cache.compute_results

    def counting(db, cycle, rule=None):
        seen.append((cycle.id, rule))
        return real(db, cycle, rule)

    monkeypatch.setattr(results_cache, "compute_results", counting)
    return seen


def page_text(response) -> str:
    """The page as text, less its CSRF tokens: they carry a timestamp, so two views a second
    apart differ there whatever the cache does."""
    return re.sub(r'(name="csrf_token" value=")[^"]*', r"\1", text(response))


def funded(html: str) -> list[str]:
    return [code for code, result, _ in rows(html) if result == "Funded"]


@pytest.fixture
def pb(runtime):
    """Tulimani's cycle in voting: budget 700K; 1: 400K, 2: 300K, 3: 250K, 4: 150K."""
    return add_cycle(runtime)


def test_the_console_counts_once_until_a_ballot_is_added_or_changed(client, runtime, pb,
                                                                     counts):
    cast_four(runtime, pb)
    signed_in(client, runtime, "officer")
    page = f"{CYCLES}/{pb.cycle_id}/results"
    first = page_text(client.get(page))
    assert page_text(client.get(page)) == first and len(counts) == 1  # the second view: no count
    client.get(f"{page}?rule=greedy")
    client.get(f"{page}?rule=greedy")
    client.get(page)
    assert counts == [(pb.cycle_id, "mes"), (pb.cycle_id, "greedy")]  # one entry per rule

    vote(runtime, pb, {2: 1}, "+254700000999")  # a new ballot
    added = text(client.get(f"{page}?rule=greedy"))
    assert len(counts) == 3 and "<dt>Ballots counted</dt><dd>5</dd>" in added
    assert funded(added) == ["1", "2"]  # support 1: 3, 2: 2, 3: 2; the tie goes to 2

    vote(runtime, pb, {3: 1}, "+254700000999")  # changed: as many ballots, another choice
    changed = text(client.get(f"{page}?rule=greedy"))
    assert len(counts) == 4 and "<dt>Ballots counted</dt><dd>5</dd>" in changed
    assert funded(changed) == ["1", "3"]  # 1: 3, 3: 3, 2: 1
    client.get(f"{page}?rule=greedy")
    assert len(counts) == 4

    move(runtime, pb.cycle_id, Phase.CLOSED)  # closing changes no ballot: nothing to count
    client.get(f"{page}?rule=greedy")
    assert len(counts) == 4


def test_paper_ballots_entered_or_replaced_are_counted_again(runtime, pb, counts):
    cache = ResultsCache(size=4)

    def view() -> tuple[int, ...]:
        with runtime.sessions() as db:
            return cache.results(db, db.get(Cycle, pb.cycle_id), "greedy").winners

    def enter(selection: dict[int, int]) -> None:
        with runtime.sessions.begin() as db:
            paper.import_paper_ballots(db, runtime.keyring, db.get(Cycle, pb.cycle_id),
                                       [PaperBallot("box 7, no. 1", selection)])

    assert view() == () and view() == () and len(counts) == 1
    enter({1: 1})
    assert view() == (1,) and len(counts) == 2
    enter({1: 1})  # the same record again: unchanged, nothing to count
    assert view() == (1,) and len(counts) == 2
    enter({2: 1})  # replaced: one ballot still, its revision goes up
    assert view() == (2,) and len(counts) == 3


def test_the_cache_keeps_only_its_size_least_recently_viewed_last(runtime, pb, counts):
    cache = ResultsCache(size=2)

    def view(rule: str) -> None:
        with runtime.sessions() as db:
            cache.results(db, db.get(Cycle, pb.cycle_id), rule)

    other = add_cycle(runtime, ward="0437", with_counties=False)
    view("mes")
    view("greedy")
    view("mes")  # kept; greedy is now the least recently viewed
    with runtime.sessions() as db:
        cache.results(db, db.get(Cycle, other.cycle_id))  # a third entry: greedy goes
    view("mes")
    view("greedy")
    assert counts == [(pb.cycle_id, "mes"), (pb.cycle_id, "greedy"), (other.cycle_id, "mes"),
                      (pb.cycle_id, "greedy")]


def test_the_public_page_counts_a_published_cycle_once(client, runtime, pb, counts):
    cast_four(runtime, pb)
    move(runtime, pb.cycle_id, Phase.CLOSED, Phase.PUBLISHED)
    page = f"/results/makueni/{pb.cycle_id}"
    first = page_text(client.get(page))
    assert "<dt>Ballots counted</dt><dd>4</dd>" in first
    assert page_text(client.get(page)) == first
    assert counts == [(pb.cycle_id, "mes")]
