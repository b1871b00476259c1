"""Payment sign-off: the chair marks a milestone "works verified"; a second member confirms.

Only a confirmed verification counts as verified. The chair cannot confirm their own request,
nor can a member who has stood down; confirming twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import MilestoneVerification, PmcMember, PmcRole

MAX_MILESTONE = 200


class Refusal(StrEnum):
    NOT_CHAIR = "not_chair"  # only the chair asks
    NO_MILESTONE = "no_milestone"  # what was verified must be said
    INACTIVE_MEMBER = "inactive_member"
    OTHER_PROJECT = "other_project"  # the confirming member sits on another PMC
    SAME_MEMBER = "same_member"  # the chair cannot be the second pair of eyes
    CONFIRMED_ALREADY = "confirmed_already"  # by someone else


class VerificationRefused(ValueError):
    def __init__(self, reason: Refusal) -> None:
        self.reason = reason
        super().__init__(reason.value)


def request_verification(db: Session, chair: PmcMember, milestone: str,
                         at: datetime | None = None) -> MilestoneVerification:
    """The chair's "works verified" for a milestone, waiting for a second member."""
    if not chair.active:
        raise VerificationRefused(Refusal.INACTIVE_MEMBER)
    if chair.role != PmcRole.CHAIR:
        raise VerificationRefused(Refusal.NOT_CHAIR)
    text = " ".join((milestone or "").split())[:MAX_MILESTONE]
    if not text:
        raise VerificationRefused(Refusal.NO_MILESTONE)
    verification = MilestoneVerification(project_id=chair.project_id, milestone=text,
                                         requested_by_id=chair.id, requested_at=at or utcnow())
    db.add(verification)
    db.flush()
    return verification


def confirm_verification(db: Session, verification: MilestoneVerification, member: PmcMember,
                         at: datetime | None = None) -> MilestoneVerification:
    """A second, active member of the same PMC confirms; the milestone is then verified."""
    if not member.active:
        raise VerificationRefused(Refusal.INACTIVE_MEMBER)
    if member.project_id != verification.project_id:
        raise VerificationRefused(Refusal.OTHER_PROJECT)
    if member.id == verification.requested_by_id:
        raise VerificationRefused(Refusal.SAME_MEMBER)
    if verification.confirmed_by_id is not None:
        if verification.confirmed_by_id == member.id:
            return verification
        raise VerificationRefused(Refusal.CONFIRMED_ALREADY)
    verification.confirmed_by_id, verification.confirmed_at = member.id, at or utcnow()
    db.flush()
    return verification


def pending_verifications(db: Session, project_id: int) -> list[MilestoneVerification]:
    """Requests still waiting for a second member, oldest first."""
    return list(db.scalars(select(MilestoneVerification).where(
        MilestoneVerification.project_id == project_id,
        MilestoneVerification.confirmed_by_id.is_(None))
        .order_by(MilestoneVerification.requested_at, MilestoneVerification.id)))


def verifications_of(db: Session, project_id: int) -> list[MilestoneVerification]:
    """Every request of the project, newest first, confirmed or not."""
    return list(db.scalars(select(MilestoneVerification)
                           .where(MilestoneVerification.project_id == project_id)
                           .order_by(MilestoneVerification.requested_at.desc(),
                                     MilestoneVerification.id.desc())))
