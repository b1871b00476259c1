"""Casting ballots: one place per voter per round, one ballot per voter per cycle, latest counts.

`identity` is the voter as the cycle knows them: the E.164 number, or the national ID number
(normalised) when the cycle asks for it. It is only ever used to compute tags.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Ballot,
    BallotChoice,
    Cycle,
    Participation,
    Phase,
    Place,
    VoterPlace,
)
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
        select(VoterPlace.place_id).where(VoterPlace.organization_id == organization_id,
                                          VoterPlace.round == round_name,
                                          VoterPlace.voter_tag == tag)))


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


def may_vote_in(db: Session, keyring: Keyring, cycle: Cycle, identity: str,
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
        if receipt[0] != "0" and db.scalar(select(Ballot.id).where(
                Ballot.cycle_id == cycle_id,
                Ballot.receipt_tag == keyring.receipt_tag(cycle_id, receipt))) is None:
            return receipt


def cast_ballot(db: Session, keyring: Keyring, cycle: Cycle, identity: str,
                selection: Mapping[int, int], channel: str, contact_id: int | None,
                receipt: str | None = None, chain: Chain | None = None) -> Cast:
    """Record (or replace) this voter's ballot; `selection` maps proposal code -> points."""
    if cycle.phase != Phase.VOTING:
        raise VoteRefused(Refusal.NOT_OPEN)
    if not may_vote_in(db, keyring, cycle, identity, chain):
        raise VoteRefused(Refusal.WRONG_PLACE)
    verdict = judge(spec_for(cycle), selection)
    if not verdict.ok:
        raise VoteRefused(Refusal.INVALID, verdict)
    ids = {p.code: p.id for p in accepted(cycle)}
    tag = keyring.ballot_tag(cycle.id, identity)
    ballot = db.scalar(select(Ballot).where(Ballot.cycle_id == cycle.id, Ballot.voter_tag == tag))
    # Read again now that this transaction uses the ballot tables: closing voting locks them
    # before rewriting the cycle's ballots (app.pb.ballot_order), so a vote that got here only
    # after a close finds the cycle closed, and none is written behind the rewrite.
    if db.scalar(select(Cycle.phase).where(Cycle.id == cycle.id)) != Phase.VOTING:
        raise VoteRefused(Refusal.NOT_OPEN)
    receipt = receipt or new_receipt(db, keyring, cycle.id)
    receipt_tag = keyring.receipt_tag(cycle.id, receipt)
    if ballot is None:
        ballot = Ballot(cycle_id=cycle.id, voter_tag=tag, receipt_tag=receipt_tag, channel=channel)
        db.add(ballot)
    else:
        ballot.revision += 1
        ballot.receipt_tag, ballot.channel = receipt_tag, channel
        ballot.choices.clear()
        db.flush()  # the old choices go before the new ones take their keys
    ballot.choices.extend(BallotChoice(proposal_id=ids[code], points=points)
                          for code, points in sorted(selection.items()))
    if contact_id is not None and db.scalar(select(Participation.id).where(
            Participation.cycle_id == cycle.id, Participation.contact_id == contact_id)) is None:
        db.add(Participation(cycle_id=cycle.id, contact_id=contact_id))
    db.flush()
    return Cast(receipt, ballot.revision)


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
    rows = db.execute(select(BallotChoice.proposal_id, BallotChoice.points).join(Ballot).where(
        Ballot.cycle_id == cycle_id, Ballot.voter_tag == tag))
    return {codes[proposal_id]: points for proposal_id, points in rows if proposal_id in codes}
