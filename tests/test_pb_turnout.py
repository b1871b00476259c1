"""Turnout by place and profile: small cells hidden, and never recoverable from the total."""

from __future__ import annotations

import itertools
from functools import cache

import pytest

from app.db.models import Cycle, Phase, Place, VoterProfile
from app.pb import ballots, cycles, proposals
from app.pb.turnout import Shown, suppress, turnout_of
from app.services import contacts
from tests.pb_support import add_cycle

# -- suppression of one table (pure) -------------------------------------------------------


def shown(counts: list[int]) -> list[str]:
    return [cell.text for cell in suppress([(str(i), n) for i, n in enumerate(counts)])]


@pytest.mark.parametrize(("counts", "expected"), [
    ([5, 12, 40], ["5", "12", "40"]),  # nothing small: every count shown
    ([3, 10, 20], ["<5", "hidden", "20"]),  # 33 - 20 = 13 = a small cell + one of 5 or more
    ([1, 3, 12, 30], ["<5", "<5", "hidden", "30"]),
    ([0, 9, 30], ["<5", "hidden", "30"]),  # zero is under 5 too
    ([2, 6, 7, 30], ["<5", "hidden", "hidden", "30"]),  # 2 + 6 = 8 would pin it to at most 3
    ([0, 5, 20], ["<5", "hidden", "hidden"]),  # 0 + 5: the small cell would be exactly 0
    ([3, 5], ["hidden", "hidden"]),  # no safe way: no cell shown, not even which is small
    ([4], ["hidden"]),
    ([], []),
])
def test_small_cells_and_their_complements_are_hidden(counts, expected):
    assert shown(counts) == expected


def test_hidden_counts_never_leave_the_module():
    cells = suppress([("a", 3), ("b", 10), ("c", 20)])
    assert [c.count for c in cells] == [None, None, 20]
    assert [c.shown for c in cells] == [Shown.SMALL, Shown.HIDDEN, Shown.COUNT]


@cache
def _feasible(slots: tuple[tuple[int, int | None], ...], total: int) -> bool:
    """Can the cells, each within [low, high] (None: no upper bound), add up to `total`?"""
    if not slots:
        return total == 0
    (low, high), rest = slots[0], slots[1:]
    top = total if high is None else min(high, total)
    return any(_feasible(rest, total - v) for v in range(low, top + 1))


def what_an_attacker_learns(counts: list[int]) -> list[set[int]] | None:
    """For each small cell, every value consistent with what the page shows and the total.

    The attacker knows the rule: "<5" cells hold 0-4, "hidden" cells 5 or more when some cell
    says "<5" (all "hidden": anything). Brute force, independent of the implementation.
    """
    cells = suppress([(str(i), n) for i, n in enumerate(counts)])
    hidden_total = sum(counts) - sum(c.count for c in cells if c.count is not None)
    small = [i for i, c in enumerate(cells) if c.shown == Shown.SMALL]
    if not small:
        return None
    slots = {i: (0, 4) if c.shown == Shown.SMALL else (5, None)
             for i, c in enumerate(cells) if c.shown != Shown.COUNT}
    learnt = []
    for i in small:
        others = tuple(bounds for j, bounds in slots.items() if j != i)
        learnt.append({v for v in range(5) if _feasible(others, hidden_total - v)})
    return learnt


def test_no_small_cell_can_be_narrowed_down_from_the_total():
    values = (0, 1, 2, 4, 5, 6, 7, 9, 15, 40)
    for size in (1, 2, 3, 4):
        for counts in itertools.product(values, repeat=size):
            cells = suppress([(str(i), n) for i, n in enumerate(counts)])
            assert all(c.count is None or c.count >= 5 for c in cells), counts
            learnt = what_an_attacker_learns(list(counts))
            if learnt is not None:
                assert all(values_ == set(range(5)) for values_ in learnt), (counts, learnt)


# -- a cycle's turnout from the database ---------------------------------------------------


def take_part(runtime, fixture, n: int, *, ward: str = "0431", ward_on_record: bool = True,
              profile: tuple[str, str, str] | None = None, cycle_id: int | None = None) -> None:
    """n residents of `ward` vote (through the product's cast_ballot), with profile answers."""
    take_part.count = getattr(take_part, "count", 0) + n
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, cycle_id or fixture.cycle_id)
        place = db.get(Place, fixture.ward_ids[ward])
        for i in range(take_part.count - n, take_part.count):
            msisdn = f"+2547110{i:05d}"
            ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round,
                                   msisdn, place)
            contact = contacts.ensure_contact(db, fixture.organization_id, msisdn)
            contact.ward_id = place.id if ward_on_record else None
            if profile:
                gender, age, disability = profile
                db.add(VoterProfile(contact_id=contact.id, gender=gender, age_band=age,
                                    disability=disability))
            ballots.cast_ballot(db, runtime.keyring, cycle, msisdn, {1: 1}, "ussd", contact.id)


def cells(turnout) -> dict[str, list[tuple[str, str]]]:
    return {t.title.split(" (")[0]: [(c.label, c.text) for c in t.cells] for t in turnout.tables}


def test_turnout_tables_hide_small_groups(runtime):
    fx = add_cycle(runtime)  # Tulimani ward
    take_part(runtime, fx, 14, profile=("female", "25-34", "no"))
    take_part(runtime, fx, 12, profile=("male", "35-49", "no"))
    take_part(runtime, fx, 1, profile=("other", "65+", "yes"))
    take_part(runtime, fx, 3, ward_on_record=False)  # no profile, no ward on record
    with runtime.sessions() as db:
        turnout = turnout_of(db, db.get(Cycle, fx.cycle_id))
    assert turnout.total == 30 and {t.total for t in turnout.tables} == {30}
    tables = cells(turnout)
    # 30 - 27 would give the 3 away: the 27 is hidden too
    assert tables["Place"] == [("Tulimani (0431)", "hidden"), ("Not known or elsewhere", "<5")]
    assert tables["Gender"] == [("Female", "14"), ("Male", "hidden"), ("Other", "<5"),
                                ("Not answered", "<5")]
    assert tables["Age band"] == [("Under 18", "<5"), ("18-24", "<5"), ("25-34", "14"),
                                  ("35-49", "hidden"), ("50-64", "<5"), ("65 or over", "<5"),
                                  ("Not answered", "<5")]
    assert tables["Disability"] == [("Yes: a lot of difficulty, or unable", "<5"),
                                    ("No", "hidden"), ("Not answered", "<5")]


def test_a_county_cycle_counts_each_ward_below_it(runtime):
    fx = add_cycle(runtime, open_voting=False)
    with runtime.sessions.begin() as db:
        county = db.get(Place, fx.ward_ids["0431"]).parent.parent
        cycle = cycles.create_cycle(db, organization_id=fx.organization_id, name="Makueni",
                                    round_name="county 2026", place=county, budget=1000,
                                    ballot_type="approval")
        proposals.add_proposal(db, cycle, title="Ambulance", cost=900, status="accepted")
        cycles.move(cycle, Phase.VOTING)
        county_cycle = cycle.id
    for ward, n in (("0431", 9), ("0437", 5), ("0432", 2)):
        take_part(runtime, fx, n, ward=ward, cycle_id=county_cycle)
    with runtime.sessions() as db:
        turnout = turnout_of(db, db.get(Cycle, county_cycle))
    assert turnout.total == 16
    assert cells(turnout)["Place"] == [("Kasikeu (0437)", "hidden"), ("Mbooni (0432)", "<5"),
                                       ("Tulimani (0431)", "hidden"),
                                       ("Not known or elsewhere", "<5")]
