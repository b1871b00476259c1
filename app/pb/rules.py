"""Counting a PB election: greedy, and the Method of Equal Shares (MES) with the add1 completion.

Both give the same winners as `pabutools` (the reference the tests compare against):
- `greedy` is pabutools' `greedy_utilitarian_welfare` with `sat_class=Cost_Sat` (on points
  ballots, a satisfaction of points x cost): projects in order of support (approvals, or total
  points on cumulative/scoring ballots), most first; each is funded if it still fits in what is
  left of the budget, otherwise skipped, and the list goes on to the end (so a cheaper project
  further down can still be funded, and so can one nobody backed).
- `method_of_equal_shares` is pabutools' `method_of_equal_shares(instance, profile,
  sat_class=Cost_Sat)` for approval ballots (utility of a project = its cost) and
  `sat_class=Additive_Cardinal_Sat` for points ballots (utility = the points). See
  `app.pb.equal_shares` for one run.
- completion "add1" is pabutools' `voter_budget_increment=1`, the rule of Swiecie 2023
  (`equalshares/add1` in Pabulib): run MES with a share of budget/voters each; while the
  outcome is not exhaustive (some supported project not funded would still fit in the real
  budget), raise every voter's share by 1 unit of currency and run again from scratch. Stop at
  the first exhaustive outcome, or when an outcome would cost more than the real budget; then
  the previous outcome stands. No greedy pass follows. Runs that would fund exactly what the
  last one funded are skipped, exactly (`app.pb.share_steps`), so few voters with a large
  budget do not mean thousands of runs.

Tie-breaking, the same in both rules: between projects equal on the rule's measure (support for
greedy, rho for MES), the one whose project id comes first in plain string order wins: code-point
order, so "10" < "9" and "B" < "a". This is pabutools' default `lexico_tie_breaking`, which
compares project names, and a Pabulib project's name in pabutools is its `project_id`. Money and
points are exact (ints and Fractions), so a tie is a real tie and never a rounding accident.

Where we part from pabutools on purpose (no shared file has such a project): a project that costs
nothing is funded first by MES whenever anyone supports it, and greedy ranks it by its support
like any other (pabutools' cost satisfaction gives it zero utility).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

from app.pb.election import Election, Number
from app.pb.equal_shares import EqualSharesIndex, Purchase, run_equal_shares
from app.pb.share_steps import stable_steps

COMPLETIONS = ("add1", None)
# Steps that fund the same in a row before add1 asks how many more will (it costs a few runs).
JUMP_AFTER_REPEATS = 2
# Jumps pay only where add1 takes many steps: where one unit per voter is small next to what
# projects cost. Elsewhere looking for a jump costs more than the runs it could skip: Amsterdam
# (median cost 2.1 units per voter) takes 12 runs, Swiecie (16.6) 226 short ones. Measured on
# the shared files: jumping from Czestochowa's 47.5 up, and on generated small wards.
JUMP_MIN_COST_PER_VOTER = 20


@dataclass(frozen=True)
class Round:
    """One MES purchase; with approval ballots the most a supporter paid is rho * cost."""

    project_id: str
    rho: Fraction


@dataclass(frozen=True)
class Outcome:
    rule: str  # "greedy", "mes" or "mes+add1"
    winners: tuple[str, ...]  # in the order they were funded
    total_cost: Number
    support: Mapping[str, Number] = field(hash=False)  # every project's approvals or points
    rounds: tuple[Round, ...] = ()  # MES only, one per winner
    voter_share: Fraction | None = None  # MES only: each voter's money in the run that counted

    def __post_init__(self) -> None:
        object.__setattr__(self, "support", MappingProxyType(dict(self.support)))


def greedy(election: Election) -> Outcome:
    """Fund projects by support, most first, skipping any that no longer fit."""
    support = election.support()
    ranking = sorted(election.projects, key=lambda p: (-support[p.id], p.id))
    left, winners = election.budget, []
    for project in ranking:
        if project.cost <= left:
            winners.append(project.id)
            left -= project.cost
    return Outcome("greedy", tuple(winners), election.budget - left, support)


def method_of_equal_shares(election: Election, completion: str | None = "add1") -> Outcome:
    """MES with cost utilities (points on points ballots), completed by add1 unless None."""
    if completion not in COMPLETIONS:
        raise ValueError(f"completion must be one of {COMPLETIONS}, not {completion!r}")
    rule = "mes+add1" if completion else "mes"
    support = election.support()
    if not election.ballots:
        return Outcome(rule, (), 0, support)
    index = EqualSharesIndex(election)
    costs = {p.id: p.cost for p in election.projects}
    share = Fraction(election.budget) / len(election.ballots)
    purchases = run_equal_shares(index, share)
    if completion == "add1":
        share, purchases = _add1(election, index, costs, share, purchases)
    return Outcome(rule, tuple(p.project_id for p in purchases),
                   sum(costs[p.project_id] for p in purchases), support,
                   tuple(Round(p.project_id, p.rho) for p in purchases), share)


def _add1(election: Election, index: EqualSharesIndex, costs: Mapping[str, Number],
          share: Fraction, purchases: list[Purchase]) -> tuple[Fraction, list[Purchase]]:
    """Raise each voter's share by 1 until exhaustive, or until the next step overspends.

    When two steps in a row fund the same, `stable_steps` says how many more would too, and
    the loop jumps over them: the outcome is the one stepping by 1 reaches, only sooner.
    """
    # Before any run counts, the fallback is what pabutools starts from: only the free projects.
    previous: tuple[Fraction, list[Purchase] | None] = (
        share, [Purchase(project_id, Fraction(0)) for project_id in index.free])
    by_cost = sorted((c.cost, c.project_id) for c in index.candidates)
    costs_per_voter = sorted(c.cost for c in index.candidates)
    worth_jumping = bool(costs_per_voter) and (
        costs_per_voter[len(costs_per_voter) // 2] >= JUMP_MIN_COST_PER_VOTER
        * len(election.ballots))
    same_in_a_row, last_ids = 0, None
    patience = JUMP_AFTER_REPEATS if worth_jumping else math.inf
    while True:
        spent = sum(costs[p.project_id] for p in purchases)
        if spent > election.budget:
            last_share, last = previous
            # A jump skipped the runs in between; the last of them is needed for its prices.
            return last_share, last if last is not None else run_equal_shares(index, last_share)
        funded = {p.project_id for p in purchases}
        left = election.budget - spent
        if not any(cost <= left for cost, project_id in by_cost if project_id not in funded):
            return share, purchases
        ids = [p.project_id for p in purchases]
        same_in_a_row = same_in_a_row + 1 if ids == last_ids else 0
        previous, last_ids = (share, purchases), ids
        if same_in_a_row >= patience:
            steps = stable_steps(index, share)
            if 0 < steps < math.inf:
                share += int(steps)
                previous = (share, None)
            else:
                patience *= 2  # the run changes at every step here though its outcome does not
            same_in_a_row = 0
        share += 1
        purchases = run_equal_shares(index, share, stop_above=election.budget)
