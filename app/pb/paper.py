"""Paper ballots: ballots counted by hand (or read from a Pabulib file) entered in bulk.

A paper ballot has no phone number and no ID number, only the id written on the paper record
(a ballot box serial, a Pabulib `voter_id`). That id is never stored: the ballot's `voter_tag`
is `keyring.ballot_tag(cycle_id, "paper:<voter id>")`, an HMAC under the key that is not in the
database, like every other ballot's. So:

- entering the same records again is idempotent: a record already entered with the same
  choices is left alone, one whose choices differ replaces them (the latest counts, as for
  phone ballots, and `revision` goes up);
- the "paper:" prefix keeps a paper record from ever sharing a tag with a phone or ID voter;
- nothing else is written: no `Participation` (there is no contact to notify), no `VoterPlace`
  (a paper voter registered at the polling station, not with us), and the ballot's channel is
  "paper". Each ballot still gets a random receipt code, unique in the cycle, so a polling
  station could print it.

Paper ballots are taken while voting is open or after it closed (counting the boxes comes after
the close), never once results are published.

`strict` (the default) judges every ballot by the cycle's ballot rules, as USSD and SMS
ballots are, and refuses the whole batch if one breaks them. `strict=False` is for the record of
an election already counted under its own rules (a Pabulib import): ballots over the budget or
with too many choices are entered as cast and counted in `PaperSummary.irregular`. Either way
a ballot naming a code that is not an accepted proposal, or giving a choice less than 1 point,
is refused, and a blank ballot is skipped (counted in `blank`): it would count for nothing.

Speed: ballots are written with bulk INSERTs, `batch_size` rows at a time, in one pass over
the batch; nothing is loaded per ballot (the cycle's existing paper tags and receipts are read
once).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from uuid import uuid4

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.db.models import Ballot, BallotChoice, BallotType, Cycle, Phase
from app.pb.ballot_rules import Problem, judge
from app.pb.ballots import RECEIPT_DIGITS, spec_for
from app.pb.proposals import accepted
from app.pb.voters import Keyring

CHANNEL = "paper"
OPEN_PHASES = (Phase.VOTING, Phase.CLOSED)
# Problems a past election's own rules may have allowed (strict=False lets them through).
_IRREGULAR = {Problem.OVER_BUDGET, Problem.TOO_MANY, Problem.TOO_MANY_POINTS}
_shuffle = random.SystemRandom().shuffle


class PaperBallotError(ValueError):
    """A batch of paper ballots the cycle cannot take; nothing of the batch is written."""


@dataclass(frozen=True)
class PaperBallot:
    voter_id: str  # the id on the paper record; only ever hashed into the tag
    selection: Mapping[int, int] = field(hash=False)  # proposal code -> points (1: approval)

    def __post_init__(self) -> None:
        object.__setattr__(self, "selection", MappingProxyType(dict(self.selection)))


@dataclass(frozen=True)
class PaperSummary:
    created: int = 0
    replaced: int = 0  # entered before with other choices: the new choices count
    unchanged: int = 0
    blank: int = 0  # no choice at all: skipped
    irregular: int = 0  # entered as cast though the cycle's ballot rules would refuse them

    @property
    def counted(self) -> int:
        return self.created + self.replaced + self.unchanged

    def __str__(self) -> str:
        text = (f"{self.created} created, {self.replaced} replaced, "
                f"{self.unchanged} unchanged, {self.blank} blank")
        return text + (f", {self.irregular} irregular" if self.irregular else "")


def paper_tag(keyring: Keyring, cycle_id: int, voter_id: str) -> str:
    return keyring.ballot_tag(cycle_id, f"paper:{voter_id}")


def _receipt_tags(db: Session, keyring: Keyring, cycle_id: int) -> Iterable[str]:
    """Tags of fresh random receipts, none used in the cycle (read once, not once per ballot)."""
    used = set(db.scalars(select(Ballot.receipt_tag).where(Ballot.cycle_id == cycle_id)))
    low = 10 ** (RECEIPT_DIGITS - 1)  # as `ballots.new_receipt`: no leading zero
    while True:
        tag = keyring.receipt_tag(cycle_id, str(low + secrets.randbelow(9 * low)))
        if tag not in used:
            used.add(tag)
            yield tag


def _check(cycle: Cycle, ballots: list[PaperBallot], strict: bool) -> tuple[list[PaperBallot],
                                                                             int]:
    """The non-blank ballots and how many are irregular; PaperBallotError for the first fault."""
    spec = spec_for(cycle)
    points = cycle.ballot_type == BallotType.CUMULATIVE
    seen: set[str] = set()
    kept, irregular = [], 0
    for ballot in ballots:
        label = f"paper ballot {ballot.voter_id!r}"
        if not ballot.voter_id.strip():
            raise PaperBallotError("a paper ballot has no voter id")
        if ballot.voter_id in seen:
            raise PaperBallotError(f"{label} appears twice")
        seen.add(ballot.voter_id)
        if not ballot.selection:
            continue
        if not points and any(value != 1 for value in ballot.selection.values()):
            raise PaperBallotError(f"{label}: a {cycle.ballot_type} ballot gives each choice 1")
        verdict = judge(spec, ballot.selection)
        if verdict.ok:
            kept.append(ballot)
        elif verdict.problem in _IRREGULAR and not strict:
            kept.append(ballot)
            irregular += 1
        else:
            detail = f" ({verdict.detail})" if verdict.detail else ""
            raise PaperBallotError(f"{label}: {verdict.problem}{detail}")
    return kept, irregular


def import_paper_ballots(db: Session, keyring: Keyring, cycle: Cycle,
                         ballots: Iterable[PaperBallot], *, strict: bool = True,
                         batch_size: int = 1000) -> PaperSummary:
    """Enter (or re-enter) paper ballots; see the module docstring for what is checked."""
    if cycle.phase not in OPEN_PHASES:
        raise PaperBallotError(f"paper ballots are entered while voting is open or after it "
                               f"closed; cycle {cycle.id} is in {cycle.phase}")
    given = list(ballots)
    kept, irregular = _check(cycle, given, strict)
    ids = {p.code: p.id for p in accepted(cycle)}
    tagged = {paper_tag(keyring, cycle.id, b.voter_id): b for b in kept}
    existing = _existing(db, cycle.id, list(tagged))
    receipt_tags = _receipt_tags(db, keyring, cycle.id)
    new_ballots: list[dict] = []
    new_choices: list[dict] = []
    replaced: list[str] = []
    unchanged = 0
    for tag, ballot in tagged.items():
        wanted = {ids[code]: points for code, points in ballot.selection.items()}
        if tag in existing:
            ballot_id, current = existing[tag]
            if current == wanted:
                unchanged += 1
                continue
            replaced.append(ballot_id)
        else:
            ballot_id = uuid4().hex
            new_ballots.append({"id": ballot_id, "cycle_id": cycle.id, "voter_tag": tag,
                                "receipt_tag": next(receipt_tags), "channel": CHANNEL,
                                "revision": 1})
        new_choices.extend({"ballot_id": ballot_id, "proposal_id": proposal_id, "points": points}
                           for proposal_id, points in sorted(wanted.items()))
    for start in range(0, len(replaced), batch_size):
        chunk = replaced[start:start + batch_size]
        db.execute(delete(BallotChoice).where(BallotChoice.ballot_id.in_(chunk)))
        db.execute(update(Ballot).where(Ballot.id.in_(chunk))
                   .values(revision=Ballot.revision + 1, channel=CHANNEL))
    _shuffle(new_ballots)  # a heap in insertion order (PostgreSQL) says nothing of the records
    for rows, model in ((new_ballots, Ballot), (new_choices, BallotChoice)):
        for start in range(0, len(rows), batch_size):
            db.execute(insert(model), rows[start:start + batch_size])
    db.flush()
    if replaced:
        db.expire_all()  # ballots loaded earlier in the session must not keep old choices
    return PaperSummary(created=len(new_ballots), replaced=len(replaced), unchanged=unchanged,
                        blank=len(given) - len(kept), irregular=irregular)


def _existing(db: Session, cycle_id: int,
              tags: list[str]) -> dict[str, tuple[str, dict[int, int]]]:
    """tag -> (ballot id, proposal id -> points) for the given tags already in the cycle."""
    found: dict[str, tuple[str, dict[int, int]]] = {}
    for start in range(0, len(tags), 500):
        chunk = tags[start:start + 500]
        rows = db.execute(select(Ballot.voter_tag, Ballot.id).where(
            Ballot.cycle_id == cycle_id, Ballot.voter_tag.in_(chunk))).all()
        by_id = {ballot_id: tag for tag, ballot_id in rows}
        for tag, ballot_id in rows:
            found[tag] = (ballot_id, {})
        if by_id:
            for ballot_id, proposal_id, points in db.execute(
                    select(BallotChoice.ballot_id, BallotChoice.proposal_id, BallotChoice.points)
                    .where(BallotChoice.ballot_id.in_(list(by_id)))):
                found[by_id[ballot_id]][1][proposal_id] = points
    return found
