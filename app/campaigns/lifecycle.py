"""A campaign's life: drafted by an officer, approved by a second person, then sent, paused,
resumed or cancelled. Each step is audited in the caller's transaction.

The functions only change rows; the caller commits, then queues background work (materialise
after approval, the next wave after resume) so a job never sees an uncommitted campaign.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.campaigns.audience import Audience, resolve
from app.campaigns.message_text import check_messages
from app.db.base import utcnow
from app.db.models import (
    Campaign,
    CampaignStatus,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Role,
    User,
)
from app.services import audit

# May draft, schedule, pause, resume and cancel. An approver may draft too, and then needs
# another approver: the creator never approves their own campaign.
AUTHORS = frozenset({Role.ADMIN, Role.OFFICER, Role.APPROVER})
OPERATORS = AUTHORS
CANCELLED_ERROR = "campaign cancelled"
# A step is allowed from these states only.
_PAUSABLE = {CampaignStatus.APPROVED, CampaignStatus.SCHEDULED, CampaignStatus.SENDING}
_CANCELLABLE = {CampaignStatus.DRAFT, CampaignStatus.APPROVED, CampaignStatus.SCHEDULED,
                CampaignStatus.SENDING, CampaignStatus.PAUSED}


class CampaignError(ValueError):
    """A step the campaign's state or the user's role does not allow."""


def create(db: Session, organization: Organization, user: User, name: str,
           messages: dict[str, str], audience: Audience,
           scheduled_for: datetime | None = None) -> Campaign:
    """A DRAFT campaign; its messages are checked and its audience must resolve."""
    _require(user, organization.id, AUTHORS, "create campaigns")
    name = " ".join(name.split())
    if not name:
        raise CampaignError("a campaign needs a name")
    messages = {language: text.strip() for language, text in messages.items() if text.strip()}
    check_messages(messages, organization.languages)
    resolve(db, organization, audience)  # refuses unknown wards, other orgs' cycles...
    campaign = Campaign(organization_id=organization.id, name=name,
                        status=CampaignStatus.DRAFT, created_by_id=user.id,
                        audience=audience.to_json(), messages=messages,
                        scheduled_for=scheduled_for)
    db.add(campaign)
    db.flush()
    audit.record(db, user, "campaign.create", "campaign", campaign.id,
                 {"name": name, "languages": sorted(messages)},
                 organization_id=organization.id)
    return campaign


def approve(db: Session, campaign: Campaign, user: User, now: datetime | None = None) -> None:
    """Four eyes: an approver who did not create the campaign. Only flips the status: the
    caller then queues the materialise job, so approving a huge campaign returns at once."""
    _require(user, campaign.organization_id, {Role.APPROVER}, "approve campaigns")
    if user.id == campaign.created_by_id:
        raise CampaignError("the person who created a campaign cannot approve it")
    _expect(campaign, {CampaignStatus.DRAFT}, "approve")
    campaign.status = CampaignStatus.APPROVED
    campaign.approved_by_id = user.id
    campaign.approved_at = campaign.next_step_at = now or utcnow()
    audit.record(db, user, "campaign.approve", "campaign", campaign.id, {"name": campaign.name},
                 organization_id=campaign.organization_id)


def schedule(db: Session, campaign: Campaign, user: User, when: datetime | None) -> None:
    """Send no earlier than `when` (None: as soon as approved and inside the sending hours)."""
    _require(user, campaign.organization_id, AUTHORS, "schedule campaigns")
    _expect(campaign, {CampaignStatus.DRAFT, CampaignStatus.APPROVED, CampaignStatus.SCHEDULED,
                       CampaignStatus.PAUSED}, "schedule")
    campaign.scheduled_for = when
    if campaign.status == CampaignStatus.SCHEDULED and when is None:
        campaign.status = CampaignStatus.SENDING
    elif campaign.status == CampaignStatus.APPROVED and when is not None and campaign.materialised:
        campaign.status = CampaignStatus.SCHEDULED
    audit.record(db, user, "campaign.schedule", "campaign", campaign.id,
                 {"scheduled_for": when.isoformat() if when else None},
                 organization_id=campaign.organization_id)


def pause(db: Session, campaign: Campaign, user: User) -> None:
    """Stop handing waves to the sender; a send job that starts after this leaves its rows
    queued (a wave already being sent finishes)."""
    _require(user, campaign.organization_id, OPERATORS, "pause campaigns")
    _expect(campaign, _PAUSABLE, "pause")
    campaign.status = CampaignStatus.PAUSED
    campaign.next_step_at = None
    audit.record(db, user, "campaign.pause", "campaign", campaign.id, {},
                 organization_id=campaign.organization_id)


def resume(db: Session, campaign: Campaign, user: User) -> None:
    """Back to sending (or to waiting for its materialise or its scheduled time); the caller
    queues the next wave after commit."""
    _require(user, campaign.organization_id, OPERATORS, "resume campaigns")
    _expect(campaign, {CampaignStatus.PAUSED}, "resume")
    campaign.status = status_after_materialise(campaign, utcnow()) if campaign.materialised \
        else CampaignStatus.APPROVED
    campaign.next_step_at = utcnow()
    campaign.handed_over_to = 0  # what the pause left queued goes with the next wave
    audit.record(db, user, "campaign.resume", "campaign", campaign.id,
                 {"status": str(campaign.status)}, organization_id=campaign.organization_id)


def cancel(db: Session, campaign: Campaign, user: User) -> int:
    """Cancel for good: every row not yet handed to AT is marked failed and never sent.
    Returns how many were stopped."""
    _require(user, campaign.organization_id, OPERATORS, "cancel campaigns")
    _expect(campaign, _CANCELLABLE, "cancel")
    campaign.status = CampaignStatus.CANCELLED
    campaign.next_step_at = None
    campaign.finished_at = utcnow()
    stopped = stop_unsent(db, campaign.id)
    audit.record(db, user, "campaign.cancel", "campaign", campaign.id, {"stopped": stopped},
                 organization_id=campaign.organization_id)
    return stopped


def stop_unsent(db: Session, campaign_id: int) -> int:
    """Mark the campaign's still-QUEUED outbox rows failed (a worker's claim takes only QUEUED
    rows, so none of them can be sent afterwards)."""
    return db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.campaign_id == campaign_id,
               OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.FAILED, error=CANCELLED_ERROR)
        .execution_options(synchronize_session=False)).rowcount


def status_after_materialise(campaign: Campaign, now: datetime) -> CampaignStatus:
    if campaign.scheduled_for is not None and campaign.scheduled_for > now:
        return CampaignStatus.SCHEDULED
    return CampaignStatus.SENDING


def campaign_of(db: Session, organization_id: int, campaign_id: int) -> Campaign:
    campaign = db.scalar(select(Campaign).where(Campaign.id == campaign_id,
                                                Campaign.organization_id == organization_id))
    if campaign is None:
        raise CampaignError(f"no campaign {campaign_id} in this organization")
    return campaign


def _require(user: User, organization_id: int, roles: set[Role] | frozenset[Role],
             what: str) -> None:
    if not user.active:
        raise CampaignError(f"{user.email} is not an active user")
    if Role(user.role) not in roles:
        allowed = ", ".join(sorted(str(r) for r in roles))
        raise CampaignError(f"{user.email} is {user.role}: only {allowed} may {what}")
    if user.organization_id is not None and user.organization_id != organization_id:
        raise CampaignError(f"{user.email} does not belong to this organization")


def _expect(campaign: Campaign, states: set[CampaignStatus], step: str) -> None:
    if CampaignStatus(campaign.status) not in states:
        raise CampaignError(f"cannot {step} a campaign that is {campaign.status}")
