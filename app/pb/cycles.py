"""Budget cycles: created by officers, moved through their phases in order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import BallotType, Cycle, Phase, Place, VoterKey
from app.pb.ballot_order import ReorderError, reorder_ballots

# Each phase may move to the next; review may go back to proposals, and voting may be reopened
# from closed (a mistake, or an extension) until results are published.
TRANSITIONS: dict[Phase, set[Phase]] = {
    Phase.PROPOSALS: {Phase.REVIEW, Phase.VOTING},
    Phase.REVIEW: {Phase.PROPOSALS, Phase.VOTING},
    Phase.VOTING: {Phase.CLOSED},
    Phase.CLOSED: {Phase.VOTING, Phase.PUBLISHED},
    Phase.PUBLISHED: set(),
}


class CycleError(ValueError):
    """A change the cycle's rules do not allow; the message says why."""


def create_cycle(db: Session, *, organization_id: int, name: str, round_name: str,
                 place: Place, budget: int, ballot_type: BallotType | str,
                 max_choices: int | None = None, points: int | None = None,
                 voter_key: VoterKey | str = VoterKey.PHONE, rule: str = "mes") -> Cycle:
    kind = BallotType(ballot_type)
    if place.organization_id != organization_id:
        raise CycleError("the place belongs to another organization")
    if budget <= 0:
        raise CycleError("the budget must be positive")
    if kind == BallotType.K_APPROVAL and not (max_choices and max_choices > 0):
        raise CycleError("k-approval needs the number of choices (k)")
    if kind == BallotType.CUMULATIVE and not (points and points > 0):
        raise CycleError("cumulative ballots need the number of points")
    if rule not in ("mes", "greedy"):
        raise CycleError("the rule is mes or greedy")
    cycle = Cycle(organization_id=organization_id, name=" ".join(name.split()),
                  round=round_name.strip(), place_id=place.id, budget=budget, ballot_type=kind,
                  max_choices=max_choices if kind == BallotType.K_APPROVAL else None,
                  points=points if kind == BallotType.CUMULATIVE else None,
                  voter_key=VoterKey(voter_key), rule=rule, phase=Phase.PROPOSALS)
    if not cycle.name or not cycle.round:
        raise CycleError("a cycle needs a name and a round")
    db.add(cycle)
    db.flush()
    return cycle


def move(cycle: Cycle, to: Phase | str) -> None:
    """Check and set the new phase; `change_phase` also does what closing voting needs."""
    target = Phase(to)
    if target not in TRANSITIONS[Phase(cycle.phase)]:
        raise CycleError(f"a cycle in {cycle.phase} cannot move to {target}")
    if target == Phase.VOTING and not any(p.status == "accepted" for p in cycle.proposals):
        raise CycleError("voting needs at least one accepted proposal")
    cycle.phase = target


def change_phase(db: Session, cycle: Cycle, to: Phase | str) -> str | None:
    """Move the cycle (as `move`), and when that closes voting rewrite its ballots in the same
    transaction so their storage no longer follows the order votes came in (`ballot_order`).

    The console and `baraza pb close` come here. Returns a warning when voting closed but the
    ballots could not be rewritten then (the close stands; `baraza pb reorder` does it later).
    """
    before = Phase(cycle.phase)
    move(cycle, to)
    if before != Phase.VOTING or cycle.phase != Phase.CLOSED:
        return None
    try:
        reorder_ballots(db, [cycle.id])
    except ReorderError as exc:
        return (f"voting closed, but its ballots were not rewritten: {exc}; run "
                f"`baraza pb reorder {cycle.id}` once that is fixed")
    return None


def cycle_of(db: Session, organization_id: int, cycle_id: int) -> Cycle | None:
    cycle = db.get(Cycle, cycle_id)
    return cycle if cycle is not None and cycle.organization_id == organization_id else None


def voting_cycles(db: Session, organization_id: int) -> list[Cycle]:
    return list(db.scalars(select(Cycle).where(
        Cycle.organization_id == organization_id, Cycle.phase == Phase.VOTING).order_by(Cycle.id)))


def ancestors(place: Place) -> list[Place]:
    """The place itself, then its parents up to the county: a ward votes in all of them."""
    chain, current = [], place
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.parent
    return chain


def cycle_for_place(db: Session, organization_id: int, place: Place) -> Cycle | None:
    """The open cycle a resident of `place` votes in: the most local one."""
    open_cycles = {c.place_id: c for c in voting_cycles(db, organization_id)}
    for candidate in ancestors(place):
        if candidate.id in open_cycles:
            return open_cycles[candidate.id]
    return None
