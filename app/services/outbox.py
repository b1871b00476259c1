"""The outbox: every outbound SMS is a row first, claimed before it is sent, judged after.

Callers add rows inside their own transaction and hand the new ids to the dispatcher only
after commit, so a rolled-back change never sends anything and a sent row always exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.channels.sms_out import RecipientOutcome, Verdict
from app.db.base import utcnow
from app.db.models import (
    Organization,
    OutboxMessage,
    OutboxStatus,
    SendLane,
    SuppressionSource,
)
from app.services import suppressions


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
        .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1,
                claimed_at=utcnow(), next_attempt_at=None)
        .returning(OutboxMessage)  # the claimed rows themselves: one round trip
        .execution_options(populate_existing=True, synchronize_session=False)
    ).all()
    return sorted(claimed, key=lambda row: row.id)


def start_calling(db: Session, ids: Iterable[int]) -> set[int]:
    """SENDING -> CALLING, committed by the caller before the AT request: from here on a crash
    leaves the row for a person (UNCERTAIN), never for a blind resend. Rows the relay put back
    meanwhile are not in the returned set, and must not be sent by this worker."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(db.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(wanted), OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.CALLING, calling_at=utcnow())
        .returning(OutboxMessage.id)
        # record() reads the status back from the database: nothing in memory to update.
        .execution_options(synchronize_session=False)))


def release(db: Session, ids: Iterable[int], reason: str) -> None:
    """Claimed rows put back in the queue unsent (a paused campaign): the attempt is undone."""
    wanted = sorted(set(ids))
    if wanted:
        db.execute(update(OutboxMessage)
                   .where(OutboxMessage.id.in_(wanted),
                          OutboxMessage.status == OutboxStatus.SENDING)
                   .values(status=OutboxStatus.QUEUED, attempts=OutboxMessage.attempts - 1,
                           error=reason[:500]))


def hold_suppressed(db: Session, rows: Sequence[OutboxMessage]) -> set[int]:
    """Mark claimed rows to opted-out numbers SUPPRESSED; return their ids.

    Notices and campaigns never go to a suppressed number. A reply answers a message the
    resident just sent, so it goes unless it was queued before the suppression (the STOP
    confirmation is queued after it, in the same transaction, and goes out).
    """
    since = suppressions.suppressed_since(db, [(r.organization_id, r.msisdn) for r in rows])
    held = set()
    for row in rows:
        stopped = since.get((row.organization_id, row.msisdn))
        if stopped is None:
            continue
        if row.lane == SendLane.REPLY and row.created_at >= stopped:
            continue
        held.add(row.id)
    if held:
        db.execute(update(OutboxMessage)
                   .where(OutboxMessage.id.in_(sorted(held)),
                          OutboxMessage.status == OutboxStatus.SENDING)
                   .values(status=OutboxStatus.SUPPRESSED, error="opted out"))
    return held


# AT refusing the account or its sender id, not the number: a campaign row waits (like 405)
# for a person to fix the account; a reply or notice fails as before (logged as an error).
ACCOUNT_HOLD_CODES = frozenset({401, 402})  # RiskHold, InvalidSenderId


@dataclass(frozen=True)
class Recorded:
    retry: tuple[OutboxMessage, ...] = ()  # put back in the queue for a later attempt
    # Campaign rows held by the account (401, 402, 405), still queued, and AT's reason.
    paused: tuple[int, ...] = ()
    gave_up: int = 0
    hold_reason: str | None = None


def record(db: Session, outcomes: Mapping[int, RecipientOutcome], backend: str,
           give_up_after: int) -> Recorded:
    """Store each called row's outcome (rows in SENDING or CALLING)."""
    rows = db.scalars(select(OutboxMessage).where(
        OutboxMessage.id.in_(list(outcomes)),
        OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.CALLING])))
    now = utcnow()
    retry, paused, gave_up, reason = [], [], 0, None
    for row in rows:
        outcome = outcomes[row.id]
        verdict = _verdict(row, outcome)
        _apply(row, outcome, verdict, backend, now)
        if verdict is Verdict.SUPPRESS:
            suppressions.suppress(db, row.organization_id, row.msisdn,
                                  SuppressionSource.BLACKLIST_406, now)
        elif verdict is Verdict.PAUSE:
            row.attempts -= 1  # not a failure of this message: it waits for a top-up
            paused.append(row.id)
            reason = reason or outcome.error or f"AT status {outcome.status_code}"
        elif verdict is Verdict.RETRY:
            if row.attempts >= give_up_after:
                row.status = OutboxStatus.FAILED
                row.error = f"gave up after {row.attempts} attempts: {row.error}"[:500]
                gave_up += 1
            else:
                retry.append(row)
    return Recorded(tuple(retry), tuple(paused), gave_up, reason)


def _verdict(row: OutboxMessage, outcome: RecipientOutcome) -> Verdict:
    if row.lane == SendLane.CAMPAIGN:
        return Verdict.PAUSE if outcome.status_code in ACCOUNT_HOLD_CODES else outcome.verdict
    # A reply or notice keeps its backoff on an empty balance; campaigns wait.
    return Verdict.RETRY if outcome.verdict is Verdict.PAUSE else outcome.verdict


def _apply(row: OutboxMessage, outcome: RecipientOutcome, verdict: Verdict, backend: str,
           now: datetime) -> None:
    row.backend = backend
    row.status_code = outcome.status_code
    row.error = outcome.error
    if verdict is Verdict.ACCEPTED:
        row.status = OutboxStatus.SENT
        row.at_message_id = outcome.message_id
        row.cost = outcome.cost
        row.sent_at = now
    elif verdict is Verdict.FAILED:
        row.status = OutboxStatus.FAILED
    elif verdict is Verdict.UNCERTAIN:
        row.status = OutboxStatus.UNCERTAIN
    elif verdict is Verdict.SUPPRESS:
        row.status = OutboxStatus.SUPPRESSED
    else:  # RETRY, PAUSE
        row.status = OutboxStatus.QUEUED
