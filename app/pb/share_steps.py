"""How far every voter's share can grow before a run of MES changes: add1's exact shortcut.

add1 raises each voter's share by one unit of currency and runs MES again, until the outcome
is exhaustive or overspends. With few voters and a large budget that is many thousands of runs,
most of them funding exactly what the run before funded. This module finds, from one share,
how many whole steps the run can take without changing, so add1 can jump over them.

Why it is exact: run MES once with each voter's share written as `share + t`. Every budget is
then an affine function of t (a + c*t): a supporter who pays "all they have" ends at 0, and the
others pay a price that is itself affine in t, because the set of supporters who cannot afford
it is fixed along the way. Every decision the run makes at t = 0 (which project is affordable,
which supporters are poor at its price, which project is cheapest per unit of utility, with
ties to the lower id) is the sign of an affine function of t. Each such sign holds on a range of
whole t starting at 0; where all of them hold, the run makes the same choices, hence funds the
same projects in the same order. The answer is the end of the shortest range.

As in `app.pb.equal_shares`, money is held in ints over a common scale (rescaled when a price
does not divide), so every sign is exact and cheap.
"""

from __future__ import annotations

import math
from fractions import Fraction

from app.pb.equal_shares import Candidate, EqualSharesIndex

Affine = tuple[int, int]  # (a, c): a + c*t, over a scale that the caller keeps


def _last_step_nonnegative(a: int, c: int, strict: bool = False) -> float:
    """The last whole t >= 0 with a + c*t >= 0 (> 0 if strict); inf if it always holds."""
    if c >= 0:
        return math.inf
    return (a - 1) // -c if strict else a // -c


class _Priced:
    """One candidate in one round: affordable or not, its poor supporters and its price.

    Budgets are (a + c*t) / scale; the price per unit of weight is (a + c*t) / (scale * per).
    """

    def __init__(self, candidate: Candidate, budgets: list[Affine], sizes: tuple[int, ...],
                 scale: int) -> None:
        self.candidate = candidate
        weights = candidate.group_weights or (1,) * len(candidate.groups)
        self.members = list(zip(candidate.groups, weights, strict=True))
        cost = int(candidate.cost * scale)
        held_a = sum(sizes[g] * budgets[g][0] for g, _ in self.members)
        held_c = sum(sizes[g] * budgets[g][1] for g, _ in self.members)
        self.shortfall = (held_a - cost, held_c)  # money held beyond the cost
        self.affordable = self.shortfall[0] >= 0
        if not self.affordable:
            return
        # Poor at t = 0: supporters whose budget per weight is below the price. Walk from the
        # poorest per unit of weight to the fixed point, as the fast run does.
        common = math.lcm(*weights)
        order = sorted(self.members, key=lambda m: budgets[m[0]][0] * (common // m[1]))
        due_a, due_c = cost, 0
        per = sum(sizes[g] * w for g, w in self.members)  # the weight of those who pay the price
        poor = 0
        for group, weight in order:
            if budgets[group][0] * per >= due_a * weight:
                break
            due_a -= sizes[group] * budgets[group][0]
            due_c -= sizes[group] * budgets[group][1]
            per -= sizes[group] * weight
            poor += 1
        self.poor = {group for group, _ in order[:poor]}
        self.price, self.per = (due_a, due_c), per

    def rho_at_zero(self) -> Fraction:
        """rho at t = 0, up to the scales every candidate shares."""
        return Fraction(self.price[0], self.per) / self._unit()

    def rho_times(self, other: _Priced) -> Affine:
        """This candidate's rho, times a positive factor it shares with `other.rho_times(self)`.

        rho is the price per unit of utility: per voter over the cost for approvals, per point
        on points ballots (the shared point scale and money scale cancel in comparisons).
        """
        mine, theirs = self._unit(), other._unit()
        factor = other.per * mine.denominator * theirs.numerator
        return self.price[0] * factor, self.price[1] * factor

    def _unit(self) -> Fraction:
        c = self.candidate
        return Fraction(1) if c.group_weights is not None else Fraction(c.cost)

    def last_step_same(self, budgets: list[Affine]) -> float:
        """The last t at which it is (un)affordable as now, with the same poor supporters."""
        if not self.affordable:
            return _last_step_nonnegative(-self.shortfall[0], -self.shortfall[1], strict=True)
        last = _last_step_nonnegative(*self.shortfall)
        (price_a, price_c), per = self.price, self.per
        for group, weight in self.members:
            budget_a, budget_c = budgets[group]
            # Owed at the price (price * weight) against what the group holds, both over scale*per.
            gap_a, gap_c = price_a * weight - budget_a * per, price_c * weight - budget_c * per
            if group not in self.poor:
                gap_a, gap_c = -gap_a, -gap_c
            last = min(last, _last_step_nonnegative(gap_a, gap_c))
        return last


def stable_steps(index: EqualSharesIndex, share: Fraction) -> float:
    """A whole t such that every share from `share` to `share + t` funds the same projects.

    t is never beyond the first change and may stop short of it (0 as soon as the very next
    step may change the run, which is when looking further is wasted); inf if nothing changes.
    """
    sizes = index.group_sizes
    scale = math.lcm(index.money_denominator, share.denominator)
    budgets: list[Affine] = [(int(share * scale), scale)] * index.group_count
    waiting = list(index.candidates)
    last = math.inf
    while True:
        priced = [_Priced(c, budgets, sizes, scale) for c in waiting]
        last = min([last, *(entry.last_step_same(budgets) for entry in priced)])
        affordable = [entry for entry in priced if entry.affordable]
        if not affordable or last == 0:
            return last
        best = min(affordable, key=lambda e: (e.rho_at_zero(), e.candidate.project_id))
        for entry in affordable:
            if entry is not best:
                # It must stay dearer than the winner; a tie still goes to the lower id.
                strict = entry.candidate.project_id < best.candidate.project_id
                mine, theirs = entry.rho_times(best), best.rho_times(entry)
                last = min(last, _last_step_nonnegative(mine[0] - theirs[0],
                                                        mine[1] - theirs[1], strict))
        if last == 0:
            return last
        budgets, scale = _pay(best, budgets, scale)
        waiting = [entry.candidate for entry in affordable if entry is not best]


def _pay(best: _Priced, budgets: list[Affine], scale: int) -> tuple[list[Affine], int]:
    """Budgets after the winner's supporters pay: the poor all they have, the rest the price."""
    (price_a, price_c), per = best.price, best.per
    # Rescale by what keeps price * weight whole for every weight.
    factor = per // math.gcd(per, price_a, price_c)
    budgets = [(a * factor, c * factor) for a, c in budgets] if factor > 1 else list(budgets)
    price_a, price_c = price_a * factor // per, price_c * factor // per
    for group, weight in best.members:
        if group in best.poor:
            budgets[group] = (0, 0)
        else:
            a, c = budgets[group]
            budgets[group] = (a - price_a * weight, c - price_c * weight)
    return budgets, scale * factor
