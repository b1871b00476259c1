"""Proposals: numbered within their cycle, reviewed by officers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Cycle, Phase, Proposal, ProposalStatus

# Codes a resident types; 0, 00 (navigation), 98 (more) and 99 (done) mean something on USSD.
RESERVED_CODES = {0, 98, 99}
MAX_TITLE = 200


class ProposalError(ValueError):
    """A proposal the cycle cannot take; the message says why."""


def next_code(db: Session, cycle_id: int) -> int:
    highest = db.scalar(select(func.max(Proposal.code)).where(Proposal.cycle_id == cycle_id))
    code = (highest or 0) + 1
    while code in RESERVED_CODES:
        code += 1
    return code


def add_proposal(db: Session, cycle: Cycle, *, title: str, cost: int, description: str = "",
                 titles: dict[str, str] | None = None, category: str | None = None,
                 place_id: int | None = None, external_id: str | None = None,
                 status: ProposalStatus | str = ProposalStatus.SUBMITTED,
                 submitted_via: str = "console", code: int | None = None) -> Proposal:
    title = " ".join((title or "").split())
    if not title or len(title) > MAX_TITLE:
        raise ProposalError(f"a title needs 1 to {MAX_TITLE} characters")
    if cost <= 0:
        raise ProposalError("the cost must be positive")
    if cost > cycle.budget:
        raise ProposalError("the cost is more than the whole budget")
    if cycle.phase in (Phase.CLOSED, Phase.PUBLISHED):
        raise ProposalError("the cycle is closed")
    proposal = Proposal(cycle=cycle, code=code or next_code(db, cycle.id), title=title,
                        titles=titles or {}, description=description.strip(), cost=cost,
                        category=category, place_id=place_id or cycle.place_id,
                        external_id=external_id, status=ProposalStatus(status),
                        submitted_via=submitted_via)
    db.add(proposal)
    db.flush()
    return proposal


def review(proposal: Proposal, accept: bool, reason: str = "") -> None:
    if proposal.cycle.phase not in (Phase.PROPOSALS, Phase.REVIEW):
        raise ProposalError("proposals are reviewed before voting opens")
    if not accept and not reason.strip():
        raise ProposalError("a rejection needs a reason the proposer can read")
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REJECTED
    proposal.rejection_reason = None if accept else reason.strip()


def accepted(cycle: Cycle) -> list[Proposal]:
    return [p for p in cycle.proposals if p.status == ProposalStatus.ACCEPTED]
