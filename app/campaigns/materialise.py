"""After approval, in the background: write each recipient and its outbox row, then hand them to
the sender in waves, inside the organization's sending hours.

`materialise` writes chunks, each in its own transaction (recipient rows and their outbox rows
together), skipping numbers already written: a crashed run started again resumes where it
stopped, and the unique (campaign, msisdn) refuses a duplicate even if two runs race.
`advance` hands the next wave of queued outbox rows to the dispatcher's campaign lane, and says
when to be called again: 0 (at once: the next wave queues behind this one's sends), a number of
seconds (quiet hours, a scheduled start, rows handed over but not sent yet), or None (nothing
left, or paused/cancelled).

The outbox is the only record of what is left: a wave is the campaign's queued rows after the
campaign's cursor (`handed_over_to`), and handing it over writes the cursor alone. Rows a send
job left queued (its campaign paused, its account held, its job lost, its worker killed before
their batch) are behind the cursor; the campaign is finished only once none is left, going
through them again from the start (RESCAN_AFTER later: a send job may still be on its way to
them). A row is claimed once however often it is handed over (app.services.outbox.claim).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, insert, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.audience import Audience, Recipient, recipient_pages
from app.campaigns.lifecycle import status_after_materialise
from app.campaigns.message_text import (
    STOP_HINT,
    Gettext,
    message_language,
    render,
    with_stop_hint,
)
from app.campaigns.quiet_hours import Window, seconds_until_open
from app.db.base import utcnow
from app.db.lists import one_of
from app.db.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Organization,
    OutboxMessage,
    OutboxStatus,
    SendLane,
    StopHint,
)
from app.services import audit
from app.services.outbox import status_in

if TYPE_CHECKING:
    from app.services.dispatch import Dispatcher

log = logging.getLogger(__name__)

_WRITABLE = {CampaignStatus.APPROVED, CampaignStatus.PAUSED}
# A step this late lost its job (Redis restarted, a worker died between steps). Longer than a
# wave takes to send, so a slow but live campaign is not kicked twice (that is harmless too).
LOST_AFTER = timedelta(minutes=15)
# Every row was handed over but some are still queued: wait this long (their send jobs may
# still be on their way) and hand those over again. Longer than a wave takes to send.
RESCAN_AFTER = 60


def materialise(sessions: sessionmaker[Session], campaign_id: int,
                gettext_for: Callable[[str], Gettext], chunk_size: int = 1000,
                now: datetime | None = None) -> int:
    """Write the campaign's recipients and outbox rows; returns how many this run added."""
    with sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        if campaign is None or campaign.status not in _WRITABLE or campaign.materialised:
            return 0
        organization = db.get(Organization, campaign.organization_id)
        audience = Audience.from_json(campaign.audience)
        db.expunge_all()
    added = 0
    # A page at a time, so memory does not grow with the audience.
    for page in recipient_pages(sessions, organization, audience, chunk_size):
        with sessions.begin() as db:
            campaign = db.get(Campaign, campaign_id)
            if campaign.status not in _WRITABLE:
                log.info("campaign %s is %s: materialise stops", campaign_id, campaign.status)
                return added
            added += _write_chunk(db, campaign, organization, page, gettext_for)
            campaign.next_step_at = utcnow()  # alive: the sweep leaves it alone
    with sessions.begin() as db:
        campaign = db.get(Campaign, campaign_id, with_for_update=True)
        if campaign.status not in _WRITABLE:
            return added
        campaign.materialised = True
        campaign.recipient_count = db.scalar(select(func.count()).where(
            CampaignRecipient.campaign_id == campaign_id))
        if campaign.status == CampaignStatus.APPROVED:
            campaign.status = status_after_materialise(campaign, now or utcnow())
        campaign.next_step_at = utcnow()
        audit.record(db, None, "campaign.materialise", "campaign", campaign_id,
                     {"recipients": campaign.recipient_count},
                     organization_id=campaign.organization_id)
    log.info("campaign %s: %d recipients written", campaign_id, added)
    _refresh_statistics(sessions)
    return added


def _refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """PostgreSQL: re-sample the tables a campaign just grew, before its first wave. With
    stale statistics the planner takes the rows being sent for rare and reaches them through
    the status index (every row of the wave read for each batch) instead of by id; autovacuum
    would get there, but only after the sending has started."""
    with sessions() as db:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("ANALYZE outbox_messages, campaign_recipients"))
            db.commit()


def _write_chunk(db: Session, campaign: Campaign, organization: Organization,
                 chunk: Sequence[Recipient], gettext_for: Callable[[str], Gettext]) -> int:
    numbers = [r.msisdn for r in chunk]
    written = set(db.scalars(select(CampaignRecipient.msisdn).where(
        CampaignRecipient.campaign_id == campaign.id,
        one_of(db, CampaignRecipient.msisdn, numbers, "numbers"))))
    todo = [r for r in chunk if r.msisdn not in written]
    if not todo:
        return 0
    hinted = set(db.scalars(select(StopHint.msisdn).where(
        StopHint.organization_id == organization.id,
        one_of(db, StopHint.msisdn, [r.msisdn for r in todo], "numbers"))))
    # Plain inserts, not ORM objects: a 100,000-recipient campaign is 200,000 rows.
    hints, messages, languages = [], [], []
    for recipient in todo:
        language = message_language(recipient.language, campaign.messages,
                                    organization.default_language)
        body = render(campaign.messages[language], {"name": recipient.name,
                                                    "ward": recipient.ward,
                                                    "org": organization.name})
        if recipient.msisdn not in hinted:
            body = with_stop_hint(body, gettext_for(language)(STOP_HINT))
            hints.append({"organization_id": organization.id, "msisdn": recipient.msisdn,
                          "campaign_id": campaign.id})
        messages.append({"organization_id": organization.id, "msisdn": recipient.msisdn,
                         "body": body, "sender": organization.sms_sender,
                         "lane": SendLane.CAMPAIGN, "status": OutboxStatus.QUEUED,
                         "campaign_id": campaign.id})
        languages.append(language)
    if hints:
        db.execute(insert(StopHint), hints)
    message_ids = db.scalars(insert(OutboxMessage).returning(
        OutboxMessage.id, sort_by_parameter_order=True), messages).all()
    db.execute(insert(CampaignRecipient), [
        {"campaign_id": campaign.id, "msisdn": recipient.msisdn,
         "contact_id": recipient.contact_id, "language": language,
         "outbox_message_id": message_id}
        for recipient, language, message_id in zip(todo, languages, message_ids, strict=True)])
    return len(todo)


def advance(sessions: sessionmaker[Session], dispatcher: Dispatcher, campaign_id: int,
            now: datetime, window: Window | str, wave: int = 1000,
            chain: int | None = None) -> int | None:
    """Hand the next wave to the sender if the campaign is sending and its organization is in
    its sending hours; returns when to call again (see the module's docstring).

    `chain` is the chain of advance jobs this call belongs to (app.campaigns.runner): once a
    newer chain has started, an older one's call does nothing and returns None, so two chains
    never hand waves over side by side.
    """
    with sessions.begin() as db:
        campaign = db.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None or (chain is not None and campaign.chain != chain):
            return None
        if campaign.status == CampaignStatus.SCHEDULED:
            if campaign.scheduled_for is not None and campaign.scheduled_for > now:
                campaign.next_step_at = campaign.scheduled_for
                return max(1, int((campaign.scheduled_for - now).total_seconds()))
            campaign.status = CampaignStatus.SENDING
        if campaign.status != CampaignStatus.SENDING:
            campaign.next_step_at = None
            return None
        organization = db.get(Organization, campaign.organization_id)
        wait = seconds_until_open(now, organization.timezone, window)
        if wait:
            campaign.next_step_at = now + timedelta(seconds=wait)
            return wait
        campaign.next_step_at = now
        campaign.started_at = campaign.started_at or now
        picked = list(db.scalars(next_wave(campaign_id, campaign.handed_over_to, wave)))
        if picked:
            campaign.handed_over_to = picked[-1]
        elif db.scalar(_left_behind(campaign_id)) is not None:
            campaign.handed_over_to = 0  # go through them again, after a while
            campaign.next_step_at = now + timedelta(seconds=RESCAN_AFTER)
            return RESCAN_AFTER
        else:
            campaign.status = CampaignStatus.COMPLETED
            campaign.finished_at = now
            campaign.next_step_at = None
            audit.record(db, None, "campaign.complete", "campaign", campaign_id, {},
                         organization_id=campaign.organization_id)
            return None
    dispatcher.send_sms(picked, SendLane.CAMPAIGN)
    return 0


def _unsent(campaign_id: int) -> tuple:
    """A campaign's rows still queued with no retry of their own pending (a retry has its own
    delayed job, and the relay's fallback)."""
    return (OutboxMessage.campaign_id == campaign_id, OutboxMessage.next_attempt_at.is_(None))


def next_wave(campaign_id: int, after: int, size: int) -> Select[tuple[int]]:
    """The ids of a campaign's next `size` unsent rows after id `after`, in id order. The
    outbox's (campaign_id, id) index serves it from `after` on, so the read is the wave's own
    rows however many waves already went (tests/test_campaigns.py checks the plan); the status
    is checked on the rows found (`outbox.status_in`), never through the status index."""
    return (select(OutboxMessage.id)
            .where(*_unsent(campaign_id), OutboxMessage.id > after,
                   status_in(OutboxStatus.QUEUED))
            .order_by(OutboxMessage.id).limit(size))


def _left_behind(campaign_id: int) -> Select[tuple[int]]:
    return (select(OutboxMessage.id)
            .where(*_unsent(campaign_id), OutboxMessage.status == OutboxStatus.QUEUED,
                   OutboxMessage.lane == SendLane.CAMPAIGN)
            .limit(1))


def lost_work(sessions: sessionmaker[Session], now: datetime,
              lost_after: timedelta = LOST_AFTER) -> tuple[list[int], list[int]]:
    """Campaigns whose background step is long overdue: (to materialise, to advance).

    Those to advance go through their rows from the start again: rows handed over whose send
    job went with Redis are still queued, and the next wave hands them over; claiming is
    conditional, so a send job that survived after all sends nothing twice.
    """
    late = now - lost_after
    with sessions.begin() as db:
        stale = db.execute(select(Campaign.id, Campaign.status, Campaign.materialised).where(
            Campaign.status.in_([CampaignStatus.APPROVED, CampaignStatus.SCHEDULED,
                                 CampaignStatus.SENDING]),
            or_(Campaign.next_step_at.is_(None), Campaign.next_step_at < late))).all()
        to_materialise = [c.id for c in stale
                          if c.status == CampaignStatus.APPROVED and not c.materialised]
        to_advance = [c.id for c in stale if c.status != CampaignStatus.APPROVED]
        if to_advance:
            db.execute(update(Campaign).where(Campaign.id.in_(to_advance))
                       .values(handed_over_to=0).execution_options(synchronize_session=False))
        db.execute(update(Campaign).where(Campaign.id.in_(to_materialise + to_advance))
                   .values(next_step_at=now).execution_options(synchronize_session=False))
    return to_materialise, to_advance
