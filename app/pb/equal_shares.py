"""One run of the Method of Equal Shares with a fixed share per voter: exact and fast.

Every voter starts with the same share of money. Each round funds the project that its
supporters can pay for at the lowest price per unit of utility (its "affordability" rho): a
supporter pays rho times their utility, or everything they have left if that is less. Utility is
the project's cost for an approval (pabutools' `Cost_Sat`, equalshares.net's default) and the
points given on cumulative or scoring ballots (`Additive_Cardinal_Sat`). Ties go to the lower
project id in plain string order, as in `app.pb.rules`.

Speed without giving up exactness:
- Money is held as Python ints. The unit starts at 1/M of the currency, with M the common
  denominator of the share and the costs; when a price does not divide evenly, every amount
  is multiplied by its denominator (`_rescale`), so payments stay exact integer subtractions.
- A project's rho only grows as budgets shrink, so the last rho computed is a lower bound. A
  heap ordered by (bound, id) means a round evaluates only the projects that could still win.
- Evaluating a project gathers its supporters' budgets in one C-level call (`itemgetter`),
  sorts them, and finds the poor by bisection. Supporters left with nothing are dropped
  from the project's list for the rest of the run.
"""

from __future__ import annotations

import heapq
import math
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, compress
from operator import itemgetter

from app.pb.election import Election, Number


@dataclass(frozen=True)
class Purchase:
    project_id: str
    rho: Fraction  # money per unit of utility paid by the supporters who had enough


def _gatherer(voters: Sequence[int]) -> Callable[[list[int]], tuple[int, ...]]:
    """A C-level reader of these voters' budgets (itemgetter returns a bare value for one)."""
    if not voters:
        return lambda budgets: ()
    if len(voters) == 1:
        only = voters[0]
        return lambda budgets: (budgets[only],)
    return itemgetter(*voters)


@dataclass(frozen=True)
class Candidate:
    index: int  # position in EqualSharesIndex.candidates
    project_id: str
    cost: Number
    unit: Number  # one unit of utility per weight: the cost (approval) or one point
    groups: tuple[int, ...]  # the ballot groups that back it, each once
    group_weights: tuple[int, ...] | None  # per group: points (scaled to ints); None: approval
    voters: tuple[int, ...]  # per voter who backs it: the voter's group
    weights: tuple[int, ...] | None  # per voter, as group_weights
    key_factors: tuple[int, ...] | None  # per voter: lcm(weights) // weight; b * it ~ b / weight
    total_weight: int
    gather: Callable[[list[int]], tuple[int, ...]]  # the budgets of `voters`


GroupKey = tuple[tuple[str, int], ...]  # (project id, weight) pairs, sorted


def _group_ballots(election: Election, scale: int) -> list[tuple[GroupKey, int]]:
    """Identical ballots, with how many voters cast each: they always hold equal budgets."""
    counts: dict[GroupKey, int] = {}
    for ballot in election.ballots:
        if ballot.points is None:
            key = tuple(sorted((project_id, 1) for project_id in ballot.projects))
        else:
            key = tuple(sorted((project_id, int(points * scale)) for project_id, points
                               in zip(ballot.projects, ballot.points, strict=True) if points > 0))
        counts[key] = counts.get(key, 0) + 1
    return list(counts.items())


class EqualSharesIndex:
    """Who supports what, built once per election and reused by every run (add1 makes many).

    Budgets are kept per group of identical ballots, so paying and rescaling touch each group
    once; affordability still sees one budget per voter (the gather repeats a group's budget).
    """

    def __init__(self, election: Election) -> None:
        uses_points = election.uses_points
        # Points may be fractions; scaling them all by one factor keeps every comparison.
        self.point_scale = math.lcm(*{x.denominator for b in election.ballots
                                      for x in b.points or ()})
        groups = _group_ballots(election, self.point_scale)
        self.group_count = len(groups)
        self.group_sizes = tuple(voters for _, voters in groups)
        backing: dict[str, list[tuple[int, int, int]]] = {p.id: [] for p in election.projects}
        for group, (key, voters) in enumerate(groups):
            for project_id, weight in key:
                backing[project_id].append((group, weight, voters))
        self.free = tuple(sorted(p.id for p in election.projects
                                 if p.cost == 0 and backing[p.id]))
        funded = [p for p in election.projects if p.cost > 0 and backing[p.id]]
        self.candidates = tuple(self._candidate(i, p.id, p.cost, backing[p.id], uses_points)
                                for i, p in enumerate(funded))
        self.money_denominator = math.lcm(*(Fraction(c.cost).denominator
                                            for c in self.candidates))

    @staticmethod
    def _candidate(index: int, project_id: str, cost: Number,
                   backing: list[tuple[int, int, int]], uses_points: bool) -> Candidate:
        voters = tuple(group for group, _, count in backing for _ in range(count))
        weights = tuple(weight for _, weight, count in backing for _ in range(count))
        common = math.lcm(*weights)
        return Candidate(
            index, project_id, cost, 1 if uses_points else cost,
            tuple(group for group, _, _ in backing),
            tuple(weight for _, weight, _ in backing) if uses_points else None,
            voters, weights if uses_points else None,
            tuple(common // w for w in weights) if uses_points else None,
            sum(weights), _gatherer(voters))


class _Run:
    """Mutable state of one run; money in ints of 1/(base * scale) currency, per ballot group."""

    def __init__(self, index: EqualSharesIndex, share: Fraction) -> None:
        self.index = index
        self.base = math.lcm(index.money_denominator, share.denominator)
        self.scale = 1
        start = int(share * self.base)
        self.budgets = [start] * index.group_count
        self.costs = [int(c.cost * self.base) for c in index.candidates]
        # Voters who may still pay: those found at zero are dropped, as they stay there.
        self.payers = [c.voters for c in index.candidates]
        self.gathers = [c.gather for c in index.candidates]

    def rho(self, candidate: Candidate, due: int, weight: int) -> Fraction:
        """Exact rho of `due` money units spread over `weight` utility weights."""
        denominator = self.base * self.scale * weight * candidate.unit
        return Fraction(due * self.index.point_scale) / denominator

    def afford(self, candidate: Candidate) -> tuple[int, int] | None:
        """(money the rich still owe, their total weight) at the project's rho, or None."""
        if candidate.weights is not None:
            return self._afford_weighted(candidate)
        budgets = self.gathers[candidate.index](self.budgets)
        cost, count = self.costs[candidate.index], len(budgets)
        if sum(budgets) < cost:
            return None  # budgets only shrink: it will never be affordable in this run
        ordered = sorted(budgets)
        broke = bisect_right(ordered, 0)
        if broke * 8 > count:
            self._drop_broke(candidate, budgets)
        # The poor pay all they have, the rest an equal price. Raising the price can only make
        # more supporters poor, so start from "nobody with money is poor" and iterate to the
        # fixed point; each step is a bisection plus a sum over the newly poor.
        poor, paid = broke, 0
        while True:
            due, rich = cost - paid, count - poor
            newly_poor = bisect_left(ordered, -(-due // rich), poor)  # budget < due / rich
            if newly_poor == poor:
                return due, rich
            paid += sum(ordered[poor:newly_poor])
            poor = newly_poor

    def _drop_broke(self, candidate: Candidate, budgets: Sequence[int]) -> None:
        payers = tuple(compress(self.payers[candidate.index], budgets))
        self.payers[candidate.index] = payers
        self.gathers[candidate.index] = _gatherer(payers)

    def _afford_weighted(self, candidate: Candidate) -> tuple[int, int] | None:
        assert candidate.weights is not None and candidate.key_factors is not None
        budgets = candidate.gather(self.budgets)
        weights, cost = candidate.weights, self.costs[candidate.index]
        if sum(budgets) < cost:
            return None
        keys = list(map(operator.mul, budgets, candidate.key_factors))  # ordered as budget/weight
        order = sorted(range(len(budgets)), key=keys.__getitem__)
        ordered = list(map(budgets.__getitem__, order))
        ordered_weights = list(map(weights.__getitem__, order))
        paid = list(accumulate(ordered, initial=0))
        rest = list(accumulate(reversed(ordered_weights)))[::-1]  # weight from k to the end
        # First k whose voter can pay rho * weight when all before k pay what they have; the
        # test is monotone along this order, so bisect.
        low, high = 0, len(order) - 1
        while low < high:
            middle = (low + high) // 2
            if (cost - paid[middle]) * ordered_weights[middle] <= ordered[middle] * rest[middle]:
                high = middle
            else:
                low = middle + 1
        return cost - paid[low], rest[low]

    def pay(self, candidate: Candidate, due: int, weight: int) -> None:
        """Backers pay due * their weight / weight each, or all they have if less."""
        weights = candidate.group_weights or (1,) * len(candidate.groups)
        factor = math.lcm(*(weight // math.gcd(due * w, weight) for w in set(weights)))
        if factor > 1:
            self._rescale(factor)
            due *= factor
        budgets = self.budgets
        if candidate.group_weights is None:
            price = due // weight
            for group in candidate.groups:
                budget = budgets[group]
                budgets[group] = budget - price if budget > price else 0
            return
        for group, w in zip(candidate.groups, weights, strict=True):
            price = due * w // weight
            budget = budgets[group]
            budgets[group] = budget - price if budget > price else 0

    def _rescale(self, factor: int) -> None:
        self.scale *= factor
        self.budgets = [budget * factor for budget in self.budgets]
        self.costs = [cost * factor for cost in self.costs]


def _key(rho: Fraction, project_id: str) -> tuple[float, Fraction, str]:
    # float() of a Fraction is correctly rounded, hence monotone: the float settles most
    # comparisons quickly and the exact rho settles the rest, then the id breaks real ties.
    return float(rho), rho, project_id


def run_equal_shares(index: EqualSharesIndex, share: Fraction,
                     stop_above: Number | None = None) -> list[Purchase]:
    """The projects MES funds, in order, when every voter starts with `share`.

    With `stop_above`, the run ends as soon as what it funded costs more than that (add1 only
    needs to know that this outcome overspends).
    """
    state = _Run(index, share)
    heap = [(*_key(state.rho(c, state.costs[c.index], c.total_weight), c.project_id), c)
            for c in index.candidates]
    heapq.heapify(heap)
    purchases = [Purchase(project_id, Fraction(0)) for project_id in index.free]
    spent: Number = 0
    while heap and (stop_above is None or spent <= stop_above):
        best: tuple[float, Fraction, str, Candidate] | None = None
        looked_at = []
        # A stale rho is a lower bound, so stop once the cheapest bound cannot beat the best.
        while heap and (best is None or heap[0][:3] < best[:3]):
            candidate = heapq.heappop(heap)[3]
            afforded = state.afford(candidate)
            if afforded is None:
                continue
            entry = (*_key(state.rho(candidate, *afforded), candidate.project_id), candidate)
            looked_at.append(entry)
            if best is None or entry[:3] < best[:3]:
                best, best_afforded = entry, afforded
        if best is None:
            break
        for entry in looked_at:
            if entry is not best:
                heapq.heappush(heap, entry)
        _, rho, project_id, candidate = best
        state.pay(candidate, *best_afforded)
        purchases.append(Purchase(project_id, rho))
        spent += candidate.cost
    return purchases
