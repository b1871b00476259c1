"""The outbox: every outbound SMS is a row first, claimed before it is sent, judged after.

Callers add rows inside their own transaction and hand the new ids to the dispatcher only
after commit, so a rolled-back change never sends anything and a sent row always exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.channels.sms_out import RecipientOutcome, Verdict
from app.db.base import utcnow
from app.db.models import Organization, OutboxMessage, OutboxStatus, SendLane


def queue_sms(db: Session, organization_id: int, msisdn: str, body: str, lane: SendLane,
              *, sender: str | None = None) -> OutboxMessage:
    """Add a QUEUED message (from the organization's sender unless given); flushed, so it has
    an id, but committed only with the caller's transaction."""
    if sender is None:
        organization = db.get(Organization, organization_id)
        sender = organization.sms_sender if organization else None
    message = OutboxMessage(organization_id=organization_id, msisdn=msisdn, body=body,
                            sender=sender, lane=lane, status=OutboxStatus.QUEUED)
    db.add(message)
    db.flush()
    return message


def claim(db: Session, ids: Iterable[int]) -> list[OutboxMessage]:
    """Move QUEUED rows to SENDING, counting the attempt; rows in any other state are left alone.

    One conditional UPDATE, so two workers given the same ids cannot both claim a row. The
    caller commits before talking to AT: after a crash the row says SENDING, never QUEUED,
    and is not sent again blindly.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return []
    claimed = db.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(wanted), OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    ).all()
    if not claimed:
        return []
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                           .order_by(OutboxMessage.id)
                           .execution_options(populate_existing=True)))


def record(db: Session, outcomes: Mapping[int, RecipientOutcome], backend: str,
           give_up_after: int) -> list[OutboxMessage]:
    """Store each claimed row's outcome; return the rows put back in the queue for a retry."""
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(list(outcomes)),
                                                  OutboxMessage.status == OutboxStatus.SENDING))
    now = utcnow()
    retry = []
    for row in rows:
        outcome = outcomes[row.id]
        _apply(row, outcome, backend, now)
        if outcome.verdict is Verdict.RETRY:
            if row.attempts >= give_up_after:
                row.status = OutboxStatus.FAILED
                row.error = f"gave up after {row.attempts} attempts: {row.error}"[:500]
            else:
                retry.append(row)
    return retry


def _apply(row: OutboxMessage, outcome: RecipientOutcome, backend: str, now: datetime) -> None:
    row.backend = backend
    row.status_code = outcome.status_code
    row.error = outcome.error
    if outcome.verdict is Verdict.ACCEPTED:
        row.status = OutboxStatus.SENT
        row.at_message_id = outcome.message_id
        row.cost = outcome.cost
        row.sent_at = now
    elif outcome.verdict is Verdict.FAILED:
        row.status = OutboxStatus.FAILED
    else:
        row.status = OutboxStatus.QUEUED

