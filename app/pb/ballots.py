"""Casting ballots: one place per voter per round, one ballot per voter per cycle, latest counts.

`identity` is the voter as the cycle knows them: the E.164 number, or the national ID number
(normalised) when the cycle asks for it. It is only ever used to compute tags.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Protocol
from uuid import uuid4

from sqlalchemy import Insert, and_, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app.db.models import (
    Ballot,
    BallotChoice,
    Cycle,
    Participation,
    Phase,
    Place,
    Proposal,
    ProposalStatus,
    VoterPlace,
)
from app.db.upserts import dialect_of, insert_for
from app.pb.ballot_rules import BallotKind, BallotSpec, Verdict, judge
from app.pb.cycles import ancestors
from app.pb.proposals import accepted
from app.pb.voters import Keyring
from app.services.hop_db import remembered

RECEIPT_DIGITS = 10

Chain = Callable[[int], Sequence[int]]  # a place id -> it and its parents' ids


class Refusal(StrEnum):
    NOT_OPEN = "not_open"
    WRONG_PLACE = "wrong_place"
    INVALID = "invalid"


class VoteRefused(Exception):
    def __init__(self, refusal: Refusal, verdict: Verdict | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.verdict = verdict


@dataclass(frozen=True)
class Cast:
    receipt: str
    revision: int


def spec_for(cycle: Cycle) -> BallotSpec:
    return BallotSpec(BallotKind(cycle.ballot_type), cycle.budget,
                      {p.code: p.cost for p in accepted(cycle)}, cycle.max_choices, cycle.points)


def registered_place(db: Session, keyring: Keyring, organization_id: int, round_name: str,
                     identity: str) -> Place | None:
    place_id = registered_place_id(db, keyring, organization_id, round_name, identity)
    return db.get(Place, place_id) if place_id is not None else None


def registered_place_id(db: Session, keyring: Keyring, organization_id: int, round_name: str,
                        identity: str) -> int | None:
    tag = keyring.round_tag(organization_id, round_name, identity)
    # Asked twice at Confirm (the check before the receipt, the cast); registering forgets it.
    return remembered(db, ("voter_place", organization_id, round_name, tag), lambda: db.scalar(
        _PLACE_OF_VOTER, {"organization_id": organization_id, "round": round_name, "tag": tag}))


def register_place(db: Session, keyring: Keyring, organization_id: int, round_name: str,
                   identity: str, place: Place) -> Place:
    """Where this voter votes in this round; the first answer stands for the whole round."""
    current = registered_place(db, keyring, organization_id, round_name, identity)
    if current is not None:
        return current
    db.add(VoterPlace(organization_id=organization_id, round=round_name, place_id=place.id,
                      voter_tag=keyring.round_tag(organization_id, round_name, identity)))
    db.flush()
    return place


def settle_place(db: Session, keyring: Keyring, organization_id: int, round_name: str,
                 identity: str, place_id: int) -> None:
    """`register_place` in one statement, for a caller that has checked the place is the
    organization's: the first answer still stands for the whole round."""
    db.execute(_settle_place(dialect_of(db)), {
        "organization_id": organization_id, "round": round_name, "place_id": place_id,
        "voter_tag": keyring.round_tag(organization_id, round_name, identity)})


class VotingPlace(Protocol):
    """What may_vote_in reads of a cycle (a Cycle, CycleRules, or a USSD hop's BallotView)."""

    organization_id: int
    round: str
    place_id: int


def may_vote_in(db: Session, keyring: Keyring, cycle: VotingPlace, identity: str,
                chain: Chain | None = None) -> bool:
    """The voter's registered place is the cycle's place or lies inside it. `chain` gives a
    place's id and its parents' from a copy of the place tree (USSD's hop cache)."""
    place_id = registered_place_id(db, keyring, cycle.organization_id, cycle.round, identity)
    if place_id is None:
        return False
    ids = chain(place_id) if chain is not None else [p.id for p in ancestors(
        db.get(Place, place_id))]
    return cycle.place_id in ids


def new_receipt(db: Session, keyring: Keyring, cycle_id: int) -> str:
    """A random code, unused in the cycle, that a voter can type on a keypad."""
    while True:
        receipt = "".join(secrets.choice("0123456789") for _ in range(RECEIPT_DIGITS))
        if receipt[0] != "0" and db.scalar(_BALLOT_WITH_RECEIPT, {
                "cycle_id": cycle_id, "tag": keyring.receipt_tag(cycle_id, receipt)}) is None:
            return receipt


def cast_ballot(db: Session, keyring: Keyring, cycle: Cycle | int, identity: str,
                selection: Mapping[int, int], channel: str, contact_id: int | None,
                receipt: str | None = None, chain: Chain | None = None) -> Cast:
    """Record (or replace) this voter's ballot; `selection` maps proposal code -> points.

    Written as plain statements on the tables (no ORM objects): the phase, place and rules are
    read in this transaction, whatever copy of the cycle the caller holds."""
    cycle_id = cycle if isinstance(cycle, int) else cycle.id
    tag = keyring.ballot_tag(cycle_id, identity)
    # The ballot tables first: closing voting locks them before rewriting the cycle's ballots
    # (app.pb.ballot_order), so the cycle read next is as the close left it: a vote that got
    # here only after a close finds the cycle closed, and none is written behind the rewrite.
    current = db.execute(_BALLOT_OF_VOTER, {"cycle_id": cycle_id, "tag": tag}).first()
    rules = CycleRules.read(db, cycle_id)
    if rules is None or rules.phase != Phase.VOTING:
        raise VoteRefused(Refusal.NOT_OPEN)
    if not may_vote_in(db, keyring, rules, identity, chain):
        raise VoteRefused(Refusal.WRONG_PLACE)
    verdict = judge(rules.spec, selection)
    if not verdict.ok:
        raise VoteRefused(Refusal.INVALID, verdict)
    receipt = receipt or new_receipt(db, keyring, cycle_id)
    receipt_tag = keyring.receipt_tag(cycle_id, receipt)
    if current is None:
        ballot_id, revision = uuid4().hex, 1  # random: no insertion order (app.db.models)
        db.execute(_NEW_BALLOT, {"id": ballot_id, "cycle_id": cycle_id, "voter_tag": tag,
                                 "receipt_tag": receipt_tag, "channel": channel,
                                 "revision": revision})
    else:
        ballot_id, revision = current.id, current.revision + 1
        db.execute(_REPLACE_BALLOT, {"ballot_id": ballot_id, "revision": revision,
                                     "receipt_tag": receipt_tag, "channel": channel})
        db.execute(_CLEAR_CHOICES, {"ballot_id": ballot_id})
    if selection:
        db.execute(insert(_CHOICES), [
            {"ballot_id": ballot_id, "proposal_id": rules.proposal_ids[code], "points": points}
            for code, points in sorted(selection.items())])
    if contact_id is not None:
        db.execute(_take_part(dialect_of(db)), {"cycle_id": cycle_id, "contact_id": contact_id})
    return Cast(receipt, revision)


# The statements of a vote, built once: built for every hop, they cost more than running them.
_BALLOTS, _CHOICES = Ballot.__table__, BallotChoice.__table__
_VP = VoterPlace.__table__
_PLACE_OF_VOTER = select(_VP.c.place_id).where(
    _VP.c.organization_id == bindparam("organization_id"), _VP.c.round == bindparam("round"),
    _VP.c.voter_tag == bindparam("tag"))
_BALLOT_WITH_RECEIPT = select(_BALLOTS.c.id).where(
    _BALLOTS.c.cycle_id == bindparam("cycle_id"), _BALLOTS.c.receipt_tag == bindparam("tag"))
_BALLOT_OF_VOTER = select(_BALLOTS.c.id, _BALLOTS.c.revision).where(
    _BALLOTS.c.cycle_id == bindparam("cycle_id"), _BALLOTS.c.voter_tag == bindparam("tag"))
_CHOICES_OF_VOTER = select(_CHOICES.c.proposal_id, _CHOICES.c.points).join(_BALLOTS).where(
    _BALLOTS.c.cycle_id == bindparam("cycle_id"), _BALLOTS.c.voter_tag == bindparam("tag"))
_NEW_BALLOT = insert(_BALLOTS)
_REPLACE_BALLOT = update(_BALLOTS).where(_BALLOTS.c.id == bindparam("ballot_id")).values(
    revision=bindparam("revision"), receipt_tag=bindparam("receipt_tag"),
    channel=bindparam("channel"))
_CLEAR_CHOICES = delete(_CHOICES).where(_CHOICES.c.ballot_id == bindparam("ballot_id"))
_C, _P = Cycle.__table__, Proposal.__table__
_CYCLE_RULES = (
    select(_C.c.organization_id, _C.c.round, _C.c.place_id, _C.c.phase, _C.c.ballot_type,
           _C.c.budget, _C.c.max_choices, _C.c.points, _P.c.id, _P.c.code, _P.c.cost)
    .select_from(_C.outerjoin(_P, and_(_P.c.cycle_id == _C.c.id,
                                       _P.c.status == ProposalStatus.ACCEPTED)))
    .where(_C.c.id == bindparam("cycle_id")))


@cache
def _settle_place(dialect: str) -> Insert:
    return insert_for(dialect, _VP).on_conflict_do_nothing(
        index_elements=["organization_id", "round", "voter_tag"])


@cache
def _take_part(dialect: str) -> Insert:
    return insert_for(dialect, Participation.__table__).values(notified=False) \
        .on_conflict_do_nothing(index_elements=["cycle_id", "contact_id"])


@dataclass(frozen=True)
class CycleRules:
    """What casting checks of a cycle, read by the casting transaction in one statement."""

    id: int
    organization_id: int
    round: str
    place_id: int
    phase: str
    spec: BallotSpec
    proposal_ids: Mapping[int, int]  # code -> id, accepted proposals only

    @classmethod
    def read(cls, db: Session, cycle_id: int) -> CycleRules | None:
        rows = db.execute(_CYCLE_RULES, {"cycle_id": cycle_id}).all()
        if not rows:
            return None
        first = rows[0]
        accepted_rows = [(r.code, r.id, r.cost) for r in rows if r.id is not None]
        spec = BallotSpec(BallotKind(first.ballot_type), first.budget,
                          {code: cost for code, _, cost in accepted_rows}, first.max_choices,
                          first.points)
        return cls(cycle_id, first.organization_id, first.round, first.place_id, first.phase,
                   spec, {code: id_ for code, id_, _ in accepted_rows})


def ballot_by_receipt(db: Session, keyring: Keyring, organization_id: int,
                      receipt: str) -> Ballot | None:
    """The current ballot with this receipt, in any cycle of the organization."""
    code = "".join(ch for ch in receipt if ch.isdigit())
    if len(code) != RECEIPT_DIGITS:
        return None
    cycle_ids = db.scalars(select(Cycle.id).where(Cycle.organization_id == organization_id))
    tags = [keyring.receipt_tag(cycle_id, code) for cycle_id in cycle_ids]
    return db.scalar(select(Ballot).where(Ballot.receipt_tag.in_(tags))) if tags else None


def selection_of(db: Session, keyring: Keyring, cycle: Cycle, identity: str) -> dict[int, int]:
    """The voter's current choices (code -> points), to show or change them."""
    return selection_in(db, keyring, cycle.id, identity, {p.id: p.code for p in cycle.proposals})


def selection_in(db: Session, keyring: Keyring, cycle_id: int, identity: str,
                 codes: Mapping[int, int]) -> dict[int, int]:
    """`selection_of` with the cycle's proposal codes by id already known; choices of
    proposals missing from `codes` are left out."""
    tag = keyring.ballot_tag(cycle_id, identity)
    rows = db.execute(_CHOICES_OF_VOTER, {"cycle_id": cycle_id, "tag": tag})
    return {codes[proposal_id]: points for proposal_id, points in rows if proposal_id in codes}
