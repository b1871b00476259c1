"""A cycle's results: its current ballots counted by its rule (greedy or MES with add1).

Project ids given to the rules are the proposal's external id when it has one (a Pabulib
import keeps the file's `project_id`, so results equal the file's), otherwise the code padded
to six digits, so the rules' tie-break (lowest project id first) is the lowest code first.

Only proposals someone voted for are counted: greedy (like pabutools) would otherwise fund a
proposal nobody chose whenever money is left, which no county would accept. MES never funds
them anyway, since nobody pays for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Ballot, BallotChoice, BallotType, Cycle, Proposal
from app.pb.election import Ballot as ElectionBallot
from app.pb.election import Election, Number, Project
from app.pb.proposals import accepted
from app.pb.rules import Outcome, greedy, method_of_equal_shares

RULES = ("mes", "greedy")


@dataclass(frozen=True)
class ProposalResult:
    code: int
    external_id: str | None
    title: str
    cost: int
    support: Number  # approvals, or points on cumulative ballots
    funded: bool


@dataclass(frozen=True)
class CycleResults:
    cycle_id: int
    rule: str  # as the rules name it: "greedy" or "mes+add1"
    budget: int
    total_cost: Number
    ballots: int
    winners: tuple[int, ...]  # proposal codes, in the order the rule funded them
    proposals: tuple[ProposalResult, ...]  # most support first, then by code


def project_id(proposal: Proposal) -> str:
    return proposal.external_id or f"{proposal.code:06d}"


def election_of(db: Session, cycle: Cycle) -> tuple[Election, dict[str, Proposal]]:
    """The cycle's accepted proposals and current ballots as the rules' values."""
    proposals = {project_id(p): p for p in accepted(cycle)}
    by_db_id = {p.id: pid for pid, p in proposals.items()}
    points = cycle.ballot_type == BallotType.CUMULATIVE
    # Plain rows, not ORM objects: a cycle may hold 100,000 ballots.
    rows = db.execute(select(BallotChoice.ballot_id, BallotChoice.proposal_id,
                             BallotChoice.points)
                      .join(Ballot, Ballot.id == BallotChoice.ballot_id)
                      .where(Ballot.cycle_id == cycle.id)
                      .order_by(BallotChoice.ballot_id, BallotChoice.proposal_id))
    ballots = []
    for _, choices in groupby(rows, key=itemgetter(0)):
        counted = [(by_db_id[proposal], weight) for _, proposal, weight in choices
                   if proposal in by_db_id]
        if counted:
            ids = tuple(pid for pid, _ in counted)
            ballots.append(ElectionBallot(ids, tuple(w for _, w in counted) if points else None))
    projects = tuple(Project(pid, p.cost) for pid, p in proposals.items())
    return Election(cycle.budget, projects, tuple(ballots)), proposals


def count(election: Election, rule: str) -> Outcome:
    if rule not in RULES:
        raise ValueError(f"the rule is one of {', '.join(RULES)}")
    return greedy(election) if rule == "greedy" else method_of_equal_shares(election, "add1")


def compute_results(db: Session, cycle: Cycle, rule: str | None = None) -> CycleResults:
    election, proposals = election_of(db, cycle)
    support = election.support()
    supported = tuple(p for p in election.projects if support[p.id] > 0)
    outcome = count(Election(election.budget, supported, election.ballots), rule or cycle.rule)
    funded = set(outcome.winners)
    lines = sorted(
        (ProposalResult(p.code, p.external_id, p.title, p.cost, support[pid], pid in funded)
         for pid, p in proposals.items()),
        key=lambda r: (-r.support, r.code))
    return CycleResults(cycle.id, outcome.rule, cycle.budget, outcome.total_cost,
                        len(election.ballots), tuple(proposals[w].code for w in outcome.winners),
                        tuple(lines))
