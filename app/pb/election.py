"""A PB election as the counting rules see it: a budget, projects with costs, and ballots."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

Number = int | Fraction  # money and points stay exact: a tie must be a real tie


@dataclass(frozen=True)
class Project:
    id: str
    cost: Number


@dataclass(frozen=True)
class Ballot:
    """Projects a voter backed, in the voter's order; `points` on cumulative/scoring ballots."""

    projects: tuple[str, ...]
    points: tuple[Number, ...] | None = None

    def weights(self) -> tuple[Number, ...]:
        """What the ballot gives each of its projects: its points, or 1 for an approval."""
        return self.points if self.points is not None else (1,) * len(self.projects)


@dataclass(frozen=True)
class Election:
    """Either every ballot carries points or none does; ordinal ballots count as approvals."""

    budget: Number
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]

    def __post_init__(self) -> None:
        ids = [p.id for p in self.projects]
        if len(set(ids)) != len(ids):
            raise ValueError("project ids must be unique")
        if self.budget < 0 or any(p.cost < 0 for p in self.projects):
            raise ValueError("the budget and the costs must not be negative")
        known = set(ids)
        kinds = {ballot.points is None for ballot in self.ballots}
        if len(kinds) > 1:
            raise ValueError("either every ballot has points or none has")
        for ballot in self.ballots:
            if not known.issuperset(ballot.projects):
                raise ValueError(f"a ballot names unknown projects: {ballot.projects}")
            if len(set(ballot.projects)) != len(ballot.projects):
                raise ValueError(f"a ballot names a project twice: {ballot.projects}")
            if ballot.points is not None and (
                len(ballot.points) != len(ballot.projects) or any(x < 0 for x in ballot.points)
            ):
                raise ValueError(f"a ballot's points do not match its projects: {ballot}")

    @property
    def uses_points(self) -> bool:
        return any(ballot.points is not None for ballot in self.ballots)

    def support(self) -> dict[str, Number]:
        """Approvals (or total points) of every project, in the order of `projects`."""
        totals: dict[str, Number] = {p.id: 0 for p in self.projects}
        for ballot in self.ballots:
            for project_id, weight in zip(ballot.projects, ballot.weights(), strict=True):
                totals[project_id] += weight
        return totals
