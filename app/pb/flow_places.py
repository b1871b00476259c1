"""Where the vote flow's voter votes: an organization's places and open cycles, as plain values.

Built from the database and kept between hops by app.services.hop_cache (a new revision, an
officer's edit, builds them again), so the ward menus and "which cycle serves this ward" cost
no query. Writes (registering a place, casting a ballot) still read what they rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Cycle, Phase, Place, VoterKey

MAX_DEPTH = 10  # as app.pb.cycles.ancestors: a ward, its constituency, its county


@dataclass(frozen=True)
class PlaceTree:
    """An organization's places: names and parents by id, and the leaves residents live in."""

    names: Mapping[int, str]
    parents: Mapping[int, int | None]
    leaves: tuple[int, ...]  # places with no place inside them, by name

    @classmethod
    def load(cls, db: Session, organization_id: int) -> PlaceTree:
        rows = db.execute(select(Place.id, Place.name, Place.parent_id)
                          .where(Place.organization_id == organization_id)).all()
        names = {id_: name for id_, name, _ in rows}
        parents = {id_: parent for id_, _, parent in rows}
        inner = {parent for parent in parents.values() if parent is not None}
        leaves = tuple(sorted((i for i in names if i not in inner), key=lambda i: (names[i], i)))
        return cls(names, parents, leaves)

    def chain(self, place_id: int) -> list[int]:
        """The place, then its parents up to the county (app.pb.cycles.ancestors)."""
        chain: list[int] = []
        current: int | None = place_id
        while current is not None and current in self.names and len(chain) < MAX_DEPTH:
            chain.append(current)
            current = self.parents[current]
        return chain

    def groups(self) -> list[int | None]:
        """The parents of the leaves (sub-counties) by name; None for leaves with no parent."""
        found = {self.parents[leaf] for leaf in self.leaves}
        return sorted(found, key=lambda p: ("" if p is None else self.names.get(p, ""), p or 0))


@dataclass(frozen=True)
class OpenCycle:
    id: int
    round: str
    place_id: int
    by_national_id: bool


@dataclass(frozen=True)
class OpenCycles:
    """The organization's cycles in VOTING, oldest first (app.pb.rounds says what that means)."""

    cycles: tuple[OpenCycle, ...]

    @classmethod
    def load(cls, db: Session, organization_id: int) -> OpenCycles:
        rows = db.execute(select(Cycle.id, Cycle.round, Cycle.place_id, Cycle.voter_key).where(
            Cycle.organization_id == organization_id, Cycle.phase == Phase.VOTING)
            .order_by(Cycle.id))
        return cls(tuple(OpenCycle(id_, round_, place_id, key == VoterKey.NATIONAL_ID)
                         for id_, round_, place_id, key in rows))

    def open_round(self) -> str | None:
        return self.cycles[0].round if self.cycles else None

    def uses_national_id(self, round_name: str) -> bool:
        return any(c.by_national_id for c in self.cycles if c.round == round_name)

    def cycle_in_round(self, round_name: str, chain: list[int]) -> OpenCycle | None:
        """The most local open cycle of the round among the place and its parents."""
        open_here = {c.place_id: c for c in self.cycles if c.round == round_name}
        return next((open_here[p] for p in chain if p in open_here), None)
