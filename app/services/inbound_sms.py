"""Inbound SMS: stored as AT posted it (deduplicated on AT's id), then answered in a worker.

Storing never depends on understanding: an unknown short code or an unreadable number is kept
as a FAILED row with the reason, so nothing AT delivered is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.channels.at_forms import InboundSmsForm
from app.channels.phone import InvalidPhoneNumber, mask, normalise_msisdn
from app.db.base import utcnow
from app.db.models import Channel, InboundSms, InboundStatus, Organization, SendLane
from app.services import contacts, organizations, outbox
from app.services.sms_keywords import Gettext, KeywordRegistry, SmsRequest, parse_text

log = logging.getLogger(__name__)

MAX_AT_ID = 100  # the column's size; AT's ids are far shorter
# A message stored but still unanswered this long lost its hand-off: the job died with Redis
# or a worker, or ran out of retries while the database was down. AT will not send it again
# (it got its 200), so `relay_received` hands it over again, for up to a day.
STUCK = timedelta(minutes=2)
GIVE_UP = timedelta(days=1)


@dataclass(frozen=True)
class Received:
    inbound_id: int
    is_new: bool
    needs_handling: bool  # stored and not yet answered: hand it to a worker


def receive_sms(sessions: sessionmaker[Session], form: InboundSmsForm) -> Received:
    """Store the message once per AT id (the caller has checked the id is present)."""
    form = _without_nul(form)
    try:
        with sessions.begin() as db:
            existing = _by_at_id(db, form.at_id)
            if existing is not None:
                return _again(existing)
            row = _row_for(db, form)
            db.add(row)
            db.flush()
            return Received(row.id, True, row.status == InboundStatus.RECEIVED)
    except IntegrityError:
        # AT's retry raced the first delivery: the other request stored it.
        with sessions() as db:
            existing = _by_at_id(db, form.at_id)
            if existing is None:
                raise
            return _again(existing)


def _without_nul(form: InboundSmsForm) -> InboundSmsForm:
    """PostgreSQL text cannot hold NUL; refusing the row would make AT retry it for hours."""
    fields = ("at_id", "sender", "to", "text", "network_code", "link_id")
    return replace(form, **{f: getattr(form, f).replace("\x00", "\ufffd") for f in fields})


def _by_at_id(db: Session, at_id: str) -> InboundSms | None:
    return db.scalar(select(InboundSms).where(InboundSms.at_id == at_id))


def _again(row: InboundSms) -> Received:
    # Still RECEIVED: the first hand-off to a worker may have been lost (Redis down), and AT
    # retrying is our chance to hand it over again; handling twice is harmless.
    return Received(row.id, False, row.status == InboundStatus.RECEIVED)


def _row_for(db: Session, form: InboundSmsForm) -> InboundSms:
    row = InboundSms(at_id=form.at_id, msisdn=form.sender.strip()[:20], to=form.to[:40],
                     text=form.text, network_code=form.network_code or None,
                     link_id=form.link_id[:100] or None, sent_at=form.sent_at,
                     status=InboundStatus.RECEIVED)
    organization = organizations.organization_for(db, Channel.SMS, form.to)
    if organization is None:
        log.info("inbound SMS %s to unknown short code %r", form.at_id[:40], form.to[:40])
        return _failed(row, "unknown short code")
    row.organization_id = organization.id
    try:
        row.msisdn = normalise_msisdn(form.sender, organization.country)
    except InvalidPhoneNumber:
        log.info("inbound SMS %s from unreadable number %s", form.at_id[:40], mask(form.sender))
        return _failed(row, "unreadable sender number")
    return row


def _failed(row: InboundSms, reason: str) -> InboundSms:
    row.status = InboundStatus.FAILED
    row.error = reason
    return row


def relay_received(sessions: sessionmaker[Session], hand_over: Callable[[int], None],
                   now: datetime | None = None) -> int:
    """Hand every stuck message to a worker again; a duplicate job is harmless, handling
    claims the row. Returns how many were handed over."""
    now = now or utcnow()
    with sessions() as db:
        ids = list(db.scalars(
            select(InboundSms.id)
            .where(InboundSms.status == InboundStatus.RECEIVED,
                   InboundSms.received_at < now - STUCK, InboundSms.received_at > now - GIVE_UP)
            .order_by(InboundSms.id)))
    for inbound_id in ids:
        hand_over(inbound_id)
    if ids:
        log.warning("inbound relay: %d stored SMS handed to a worker again", len(ids))
    return len(ids)


@dataclass
class InboundSmsHandler:
    sessions: sessionmaker[Session]
    gettext_for: Callable[[str], Gettext]
    keywords: KeywordRegistry

    def handle(self, inbound_id: int) -> list[int]:
        """Answer a stored message; return the outbox ids to send once this has committed.

        Marking the row HANDLED is a conditional update in the same transaction as the reply:
        a second run (rq retry, AT's duplicate) finds nothing to claim and queues nothing.
        """
        with self.sessions.begin() as db:
            claimed = db.execute(
                update(InboundSms)
                .where(InboundSms.id == inbound_id, InboundSms.status == InboundStatus.RECEIVED)
                .values(status=InboundStatus.HANDLED, handled_at=utcnow())
            ).rowcount
            if claimed != 1:
                return []
            inbound = db.get(InboundSms, inbound_id, populate_existing=True)
            organization = db.get(Organization, inbound.organization_id)
            contact = contacts.ensure_contact(db, organization.id, inbound.msisdn)
            parsed = parse_text(inbound.text)
            request = SmsRequest(db, organization, contact, inbound.to, parsed, self.keywords,
                                 self.gettext_for, message_id=inbound.at_id)
            reply = self.keywords.answer(request)
            if not self.keywords.keeps_text(parsed):
                inbound.text = f"{parsed.keyword} [removed once answered]"
            sends = [(inbound.msisdn, reply)] if reply else []
            return [outbox.queue_sms(db, organization.id, msisdn, body, SendLane.REPLY)
                    for msisdn, body in sends + request.others]
