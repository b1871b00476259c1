"""A cycle's results laid out for a bar chart with its funded line (console and public page).

Rows: the funded proposals in the order the rule funded them, each with the running total of
their cost; then the funded line (what was spent of the budget); then the unfunded ones, most
support first. Bars are scaled to the most supported proposal.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from app.pb.results import CycleResults, ProposalResult

RULE_NAMES = {
    "mes+add1": "Method of Equal Shares, completed by add1",
    "mes": "Method of Equal Shares",
    "greedy": "Greedy: most support first, skipping what no longer fits",
}


@dataclass(frozen=True)
class Bar:
    code: int
    title: str
    cost: int
    support: int
    funded: bool
    percent: float  # bar length, 0-100, of the most supported proposal's
    running_cost: int | None  # funded rows: cost of this and every row funded before it


@dataclass(frozen=True)
class Chart:
    rule: str
    rule_name: str
    ballots: int
    budget: int
    spent: int
    funded: tuple[Bar, ...]
    unfunded: tuple[Bar, ...]

    @property
    def left(self) -> int:
        return self.budget - self.spent

    @property
    def spent_percent(self) -> float:
        return 100.0 * self.spent / self.budget if self.budget else 0.0


def chart_of(results: CycleResults) -> Chart:
    top = max((r.support for r in results.proposals), default=0)
    by_code = {r.code: r for r in results.proposals}
    funded, running = [], 0
    for code in results.winners:
        running += by_code[code].cost
        funded.append(_bar(by_code[code], top, running))
    unfunded = tuple(_bar(r, top, None) for r in results.proposals if not r.funded)
    return Chart(results.rule, RULE_NAMES.get(results.rule, results.rule), results.ballots,
                 results.budget, _whole(results.total_cost), tuple(funded), unfunded)


def _bar(result: ProposalResult, top: int | Fraction, running: int | None) -> Bar:
    percent = float(100 * Fraction(result.support) / top) if top else 0.0
    return Bar(result.code, result.title, result.cost, _whole(result.support), result.funded,
               round(percent, 2), running)


def _whole(number: int | Fraction) -> int:
    # Costs and support are whole numbers; the rules keep them exact as Fractions at most.
    return int(number)


def money(amount: int | Fraction, currency: str) -> str:
    """KES 5,000,000: the currency code, then whole units with thousands separators."""
    return f"{currency} {int(amount):,}"
