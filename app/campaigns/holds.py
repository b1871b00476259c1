"""Campaigns held by the sender: AT refused the account, not the number (401 RiskHold,
402 InvalidSenderId, 405 InsufficientBalance), so the campaign pauses until a person acts.

Runs inside the sender's own transactions (app.services.sms_sender): the refused rows go back to
QUEUED with their attempt undone and the campaign to PAUSED, at once; the rest of the job's rows
were never claimed, so they are QUEUED too. `baraza sms campaign resume` (or the console's
Resume) sends each of them exactly once. A send job that meets rows of a paused campaign later
leaves them QUEUED.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.channels.phone import mask
from app.db.models import (
    Campaign,
    CampaignStatus,
    Organization,
    OutboxMessage,
)
from app.services import audit

log = logging.getLogger(__name__)

# Completed too: its last retries (500, 409) may meet the refusal after the last wave, and
# their rows must not be left queued with nobody to hand them over again.
_RUNNING = (CampaignStatus.APPROVED, CampaignStatus.SCHEDULED, CampaignStatus.SENDING,
            CampaignStatus.COMPLETED)
# What an operator does about each refusal before resuming.
REMEDIES = {
    "InsufficientBalance": "top up the AT account",
    "RiskHold": "ask AT to lift the risk hold on the account",
    "InvalidSenderId": "fix the organization's SMS sender id (or have AT approve it)",
}


def hold(db: Session, rows: Sequence[OutboxMessage], reason: str, now: datetime) -> list[int]:
    """Pause the campaigns of `rows` (already put back in the queue by the caller); returns the
    campaigns paused by this call."""
    campaign_ids = sorted({r.campaign_id for r in rows if r.campaign_id is not None})
    if not campaign_ids:
        return []
    paused = list(db.scalars(
        update(Campaign)
        .where(Campaign.id.in_(campaign_ids), Campaign.status.in_(_RUNNING))
        .values(status=CampaignStatus.PAUSED, next_step_at=None)
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)))
    for campaign_id in sorted(paused):
        _alert(db, campaign_id, rows, reason, now)
    return sorted(paused)


def paused_campaign_rows(db: Session, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """The `rows` whose campaign is paused: a send job queued before the pause."""
    campaign_ids = {r.campaign_id for r in rows if r.campaign_id is not None}
    if not campaign_ids:
        return []
    paused = set(db.scalars(select(Campaign.id).where(
        Campaign.id.in_(sorted(campaign_ids)), Campaign.status == CampaignStatus.PAUSED)))
    return [r for r in rows if r.campaign_id in paused]


def _alert(db: Session, campaign_id: int, rows: Sequence[OutboxMessage], reason: str,
           now: datetime) -> None:
    campaign = db.get(Campaign, campaign_id)
    code = db.scalar(select(Organization.code).where(
        Organization.id == campaign.organization_id))
    numbers = [mask(r.msisdn) for r in rows if r.campaign_id == campaign_id][:3]
    remedy = REMEDIES.get(reason, "check the AT account")
    audit.record(db, None, "campaign.hold", "campaign", campaign_id, {"reason": reason},
                 organization_id=campaign.organization_id)
    # The alert: an ERROR line for the log monitor (and the 401/402/405 rows counted by status
    # code in /metrics' baraza_sms_sends_by_status_code).
    log.error("campaign %s (%s) paused at %s: AT answered %s for %s. To resume: %s, then "
              "`baraza sms campaign resume %s --org %s --by EMAIL` or Resume in the console",
              campaign_id, code, now.isoformat(timespec="seconds"), reason,
              ", ".join(numbers), remedy, campaign_id, code)
