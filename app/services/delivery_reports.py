"""AT's delivery reports: every one stored as received, each message moved forward only.

Reports come out of order, several per message, up to a day late, and again whenever AT did
not get our 200: the unique (id, status, retryCount) makes a repeat a no-op, and a message's
state only moves up the ranks below (intermediate < final; a final is never replaced). A
report for an id we never issued is stored all the same (answered 200: AT must not retry it
forever) and, when an UNCERTAIN row for that number exists, reconciles it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.channels.at_forms import DeliveryReportForm
from app.channels.phone import mask
from app.db.base import utcnow
from app.db.lists import one_of
from app.db.models import (
    DeliveryReport,
    DeliveryStatus,
    OutboxMessage,
    OutboxStatus,
    SuppressionSource,
)
from app.services import suppressions

log = logging.getLogger(__name__)

INTERMEDIATE = {DeliveryStatus.SENT: 1, DeliveryStatus.SUBMITTED: 2, DeliveryStatus.BUFFERED: 3}
FINAL = frozenset({DeliveryStatus.SUCCESS, DeliveryStatus.FAILED, DeliveryStatus.REJECTED,
                   DeliveryStatus.ABSENT_SUBSCRIBER, DeliveryStatus.EXPIRED})
BLACKLISTED = "userinblacklist"  # AT's failureReason for a number that opted out
# A message accepted this long ago with no final report is given up on (AT reports within a
# day, at most).
REPORT_WAIT = timedelta(hours=72)


def rank(status: str | None) -> int:
    """How far along a delivery state is: a report moves a message only to a higher rank."""
    if status in FINAL:
        return 10
    if status == DeliveryStatus.UNKNOWN:
        return 5  # our own give-up: any final report that turns up late still wins
    return INTERMEDIATE.get(status, 0)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Stored:
    new: bool  # False: AT repeated a report we have
    known: bool  # the id names a message we sent (or reconciled an uncertain one)


def receive_report(sessions: sessionmaker[Session], form: DeliveryReportForm) -> Stored:
    """Store the report and apply it, in one transaction."""
    with sessions.begin() as db:
        message = _message_for(db, form)
        try:
            with db.begin_nested():
                db.add(DeliveryReport(
                    at_id=form.at_id, status=form.status or "unknown",
                    retry_count=form.retry_count, msisdn=form.phone_number or None,
                    network_code=form.network_code or None,
                    failure_reason=form.failure_reason or None,
                    outbox_message_id=message.id if message else None, payload=form.payload))
        except IntegrityError:
            return Stored(new=False, known=message is not None)
        if message is None:
            log.info("delivery report for unknown message %s (%s)", form.at_id[:40],
                     mask(form.phone_number))
            return Stored(new=True, known=False)
        apply_report(db, message, form)
        return Stored(new=True, known=True)


def apply_report(db: Session, message: OutboxMessage, form: DeliveryReportForm) -> None:
    """Move the message forward; a report of any kind proves an uncertain send reached AT."""
    now = utcnow()
    if message.status == OutboxStatus.UNCERTAIN:
        message.status = OutboxStatus.SENT
        message.at_message_id = message.at_message_id or form.at_id
        message.sent_at = message.sent_at or now
        message.error = f"reconciled by a delivery report: {message.error or ''}"[:500]
    if rank(form.status) > rank(message.delivery_status) and (
            message.delivery_status not in FINAL):
        message.delivery_status = form.status
        message.failure_reason = form.failure_reason or None
        if form.status in FINAL:
            message.delivered_at = now
    if form.failure_reason.casefold() == BLACKLISTED:
        suppressions.suppress(db, message.organization_id, message.msisdn,
                              SuppressionSource.BLACKLIST_REPORT, now)


def apply_waiting(db: Session, accepted: Mapping[str, int]) -> int:
    """Apply the reports that arrived before their message's AT id was recorded.

    AT can report on a message before the worker that sent it has committed the id AT gave
    it; such a report was stored unlinked. `accepted` maps the AT ids just recorded to their
    outbox rows. One SELECT per batch; returns how many reports were linked.
    """
    if not accepted:
        return 0
    waiting = db.scalars(select(DeliveryReport)
                         .where(one_of(db, DeliveryReport.at_id, list(accepted), "at_ids"),
                                DeliveryReport.outbox_message_id.is_(None))).all()
    for report in sorted(waiting, key=lambda r: (rank(r.status), r.id)):
        message = db.get(OutboxMessage, accepted[report.at_id], populate_existing=True)
        report.outbox_message_id = message.id
        apply_report(db, message, DeliveryReportForm.from_form(report.payload))
    return len(waiting)


def sweep_unreported(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """Messages AT accepted over REPORT_WAIT ago with no final report: delivery `unknown`."""
    now = now or utcnow()
    with sessions.begin() as db:
        return db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT,
                   OutboxMessage.backend == "at",
                   OutboxMessage.sent_at < now - REPORT_WAIT,
                   # No final report yet (none, or only intermediate ones): a final report,
                   # and this sweep, set delivered_at. So the partial index is used.
                   OutboxMessage.delivered_at.is_(None))
            .values(delivery_status=DeliveryStatus.UNKNOWN, delivered_at=now)
        ).rowcount


def _message_for(db: Session, form: DeliveryReportForm) -> OutboxMessage | None:
    if not form.at_id:
        return None
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.at_message_id == form.at_id)
                        .with_for_update())
    if message is not None or not form.phone_number:
        return message
    # An id we never saw: the answer to a send whose reply we lost (UNCERTAIN)? The oldest
    # such row for that number takes it. A report for an id we already stored is skipped
    # above; this runs only for new ids.
    return db.scalar(select(OutboxMessage)
                     .where(OutboxMessage.status == OutboxStatus.UNCERTAIN,
                            OutboxMessage.msisdn == form.phone_number)
                     .order_by(OutboxMessage.calling_at, OutboxMessage.id).limit(1)
                     .with_for_update())
