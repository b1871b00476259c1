"""What a valid ballot is for each ballot type, and what is left while a voter chooses. Pure.

The same rules judge a USSD ballot, an SMS `VOTE 3 12 7` and an imported paper ballot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class BallotKind(StrEnum):  # mirrors app.db.models.BallotType without importing the database
    APPROVAL = "approval"
    K_APPROVAL = "k_approval"
    CHOOSE_ONE = "choose_one"
    CUMULATIVE = "cumulative"


class Problem(StrEnum):
    EMPTY = "empty"
    UNKNOWN_CODE = "unknown_code"
    OVER_BUDGET = "over_budget"
    TOO_MANY = "too_many"
    TOO_MANY_POINTS = "too_many_points"
    BAD_POINTS = "bad_points"


@dataclass(frozen=True)
class BallotSpec:
    kind: BallotKind
    budget: int
    costs: Mapping[int, int]  # proposal code -> cost, for the accepted proposals only
    max_choices: int | None = None
    points: int | None = None

    @property
    def choice_limit(self) -> int | None:
        if self.kind == BallotKind.CHOOSE_ONE:
            return 1
        if self.kind == BallotKind.K_APPROVAL:
            return self.max_choices
        return None


@dataclass(frozen=True)
class Verdict:
    problem: Problem | None
    detail: str = ""  # the offending codes, or the amount over

    @property
    def ok(self) -> bool:
        return self.problem is None


OK = Verdict(None)


def judge(spec: BallotSpec, selection: Mapping[int, int]) -> Verdict:
    """Is `selection` (code -> points; 1 for approval kinds) a ballot this cycle accepts?"""
    if not selection:
        return Verdict(Problem.EMPTY)
    unknown = sorted(code for code in selection if code not in spec.costs)
    if unknown:
        return Verdict(Problem.UNKNOWN_CODE, " ".join(map(str, unknown)))
    if spec.kind == BallotKind.CUMULATIVE:
        if any(points < 1 for points in selection.values()):
            return Verdict(Problem.BAD_POINTS)
        total = sum(selection.values())
        if spec.points is not None and total > spec.points:
            return Verdict(Problem.TOO_MANY_POINTS, str(total - spec.points))
        return OK
    limit = spec.choice_limit
    if limit is not None and len(selection) > limit:
        return Verdict(Problem.TOO_MANY, str(limit))
    if spec.kind == BallotKind.APPROVAL:
        cost = selected_cost(spec, selection)
        if cost > spec.budget:
            return Verdict(Problem.OVER_BUDGET, str(cost - spec.budget))
    return OK


def selected_cost(spec: BallotSpec, selection: Mapping[int, int]) -> int:
    return sum(spec.costs.get(code, 0) for code in selection)


def remaining(spec: BallotSpec, selection: Mapping[int, int]) -> int:
    """What is left to spend: money (approval), choices (k-approval, choose-one) or points."""
    if spec.kind == BallotKind.APPROVAL:
        return spec.budget - selected_cost(spec, selection)
    if spec.kind == BallotKind.CUMULATIVE:
        return (spec.points or 0) - sum(selection.values())
    return (spec.choice_limit or 0) - len(selection)


def toggle(spec: BallotSpec, selection: Mapping[int, int], code: int,
           points: int = 1) -> tuple[dict[int, int], Verdict]:
    """Add or remove one choice; refuse the change (selection unchanged) if it breaks a rule."""
    changed = dict(selection)
    if code in changed and spec.kind != BallotKind.CUMULATIVE:
        del changed[code]
        return changed, OK
    if spec.kind == BallotKind.CHOOSE_ONE:
        changed = {}  # choosing another replaces the one choice
    if spec.kind == BallotKind.CUMULATIVE and points == 0:
        changed.pop(code, None)
        return changed, OK
    changed[code] = points
    verdict = judge(spec, changed)
    return (changed, OK) if verdict.ok else (dict(selection), verdict)


def encode(selection: Mapping[int, int]) -> str:
    """A selection as text for a session's answers: '3:1,12:1'."""
    return ",".join(f"{code}:{points}" for code, points in sorted(selection.items()))


def decode(text: str) -> dict[int, int]:
    selection: dict[int, int] = {}
    for part in filter(None, (text or "").split(",")):
        code, _, points = part.partition(":")
        if code.isdigit() and points.isdigit():
            selection[int(code)] = int(points)
    return selection
