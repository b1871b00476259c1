"""The outbox: every outbound SMS is a row first, claimed before it is sent, judged after.

Callers add rows inside their own transaction and hand the new ids to the dispatcher only
after commit, so a rolled-back change never sends anything and a sent row always exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam, or_, text, update
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
from app.services import delivery_reports, suppressions


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


# The send path's statements go to the table, not through the ORM: a wave is thousands of
# rows, and plain rows (Claimed) cost a fraction of loaded, tracked objects.
_OUTBOX = OutboxMessage.__table__
_IN_FLIGHT = (OutboxStatus.SENDING, OutboxStatus.CALLING)


def _id_in(db: Session, ids: list[int]) -> ColumnElement[bool]:
    """`id IN ids`; on PostgreSQL one array parameter (`id = ANY(...)`), not one parameter per
    id: a wave's statement stays short, so the driver caches it and the server parses it fast."""
    if db.get_bind().dialect.name == "postgresql":
        return _OUTBOX.c.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return _OUTBOX.c.id.in_(ids)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What the sender needs of a claimed row; `attempts` counts this attempt."""

    id: int
    organization_id: int
    msisdn: str
    body: str
    sender: str | None
    lane: str
    campaign_id: int | None
    created_at: datetime
    attempts: int


def claim(db: Session, ids: Iterable[int]) -> list[Claimed]:
    """Move QUEUED rows to SENDING, counting the attempt; rows in any other state are left alone.

    One conditional UPDATE, so two workers given the same ids cannot both claim a row. The
    caller commits before talking to AT: after a crash the row says SENDING, never QUEUED,
    and is not sent again blindly.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return []
    c = _OUTBOX.c
    claimed = db.execute(
        update(_OUTBOX)
        .where(_id_in(db, wanted), c.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, attempts=c.attempts + 1,
                claimed_at=utcnow(), next_attempt_at=None)
        .returning(c.id, c.organization_id, c.msisdn, c.body, c.sender, c.lane,
                   c.campaign_id, c.created_at, c.attempts))  # the rows: one round trip
    return sorted((Claimed(*row) for row in claimed), key=lambda row: row.id)


def start_calling(db: Session, ids: Iterable[int]) -> set[int]:
    """SENDING -> CALLING, committed by the caller before the AT request: from here on a crash
    leaves the row for a person (UNCERTAIN), never for a blind resend. Rows the relay put back
    meanwhile are not in the returned set, and must not be sent by this worker."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    c = _OUTBOX.c
    return set(db.scalars(
        update(_OUTBOX)
        .where(_id_in(db, wanted), c.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.CALLING, calling_at=utcnow())
        .returning(c.id)))


def release(db: Session, ids: Iterable[int], reason: str) -> None:
    """Claimed rows put back in the queue unsent (a paused campaign): the attempt is undone."""
    wanted = sorted(set(ids))
    if wanted:
        db.execute(update(OutboxMessage)
                   .where(OutboxMessage.id.in_(wanted),
                          OutboxMessage.status == OutboxStatus.SENDING)
                   .values(status=OutboxStatus.QUEUED, attempts=OutboxMessage.attempts - 1,
                           error=reason[:500]))


def hold_suppressed(db: Session, rows: Sequence[Claimed]) -> set[int]:
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
class Retrying:
    """A row put back in the queue for a later attempt, and AT's status code for it."""

    row: Claimed
    status_code: int | None


@dataclass(frozen=True)
class Recorded:
    retry: tuple[Retrying, ...] = ()  # put back in the queue for a later attempt
    # Campaign rows held by the account (401, 402, 405), still queued, and AT's reason.
    paused: tuple[int, ...] = ()
    gave_up: int = 0
    hold_reason: str | None = None


# One statement per shape, run once for all of a batch's rows (executemany); a row no longer
# SENDING or CALLING (the relay gave up on it) is left as it is.
_WHERE = (_OUTBOX.c.id == bindparam("row_id"),  # no IN: executemany takes no expanding list
          or_(*(_OUTBOX.c.status == status for status in _IN_FLIGHT)))
_JUDGED = dict(status=bindparam("new_status"), backend=bindparam("new_backend"),
               status_code=bindparam("new_code"), error=bindparam("new_error"))
_RECORD = update(_OUTBOX).where(*_WHERE).values(
    **_JUDGED, attempts=_OUTBOX.c.attempts - bindparam("undo"))
_RECORD_ACCEPTED = update(_OUTBOX).where(*_WHERE).values(
    **_JUDGED, at_message_id=bindparam("new_at_id"), cost=bindparam("new_cost"),
    sent_at=bindparam("new_sent_at"))


def record(db: Session, rows: Sequence[Claimed], outcomes: Mapping[int, RecipientOutcome],
           backend: str, give_up_after: int) -> Recorded:
    """Store each called row's outcome (rows in SENDING or CALLING): at most two statements."""
    now = utcnow()
    accepted, judged = [], []
    retry, paused, gave_up, reason = [], [], 0, None
    for row in rows:
        outcome = outcomes[row.id]
        verdict = _verdict(row, outcome)
        values = {"row_id": row.id, "new_status": _STATUS[verdict].value, "new_backend": backend,
                  "new_code": outcome.status_code, "new_error": outcome.error}
        if verdict is Verdict.ACCEPTED:
            accepted.append({**values, "new_at_id": outcome.message_id,
                             "new_cost": outcome.cost, "new_sent_at": now})
            continue
        values["undo"] = 0
        if verdict is Verdict.SUPPRESS:
            suppressions.suppress(db, row.organization_id, row.msisdn,
                                  SuppressionSource.BLACKLIST_406, now)
        elif verdict is Verdict.PAUSE:
            values["undo"] = 1  # not a failure of this message: it waits for a top-up
            paused.append(row.id)
            reason = reason or outcome.error or f"AT status {outcome.status_code}"
        elif verdict is Verdict.RETRY:
            if row.attempts >= give_up_after:
                values["new_status"] = OutboxStatus.FAILED.value
                values["new_error"] = (f"gave up after {row.attempts} attempts: "
                                       f"{outcome.error}")[:500]
                gave_up += 1
            else:
                retry.append(Retrying(row, outcome.status_code))
        judged.append(values)
    if db.get_bind().dialect.name == "postgresql":
        _record_by_arrays(db, accepted, judged, backend, now)
    else:
        for statement, params in ((_RECORD_ACCEPTED, accepted), (_RECORD, judged)):
            if params:
                db.execute(statement, params)
    # A report that overtook this record (AT reported before we stored its id) applies now.
    delivery_reports.apply_waiting(db, {v["new_at_id"]: v["row_id"] for v in accepted
                                        if v["new_at_id"]})
    return Recorded(tuple(retry), tuple(paused), gave_up, reason)


# PostgreSQL: one UPDATE per shape whatever the batch size, its rows' values as arrays
# (unnest), so the server runs one statement rather than one per row.
_ACCEPTED_BY_ARRAYS = text(
    "UPDATE outbox_messages AS o SET status = :status, backend = :backend, "
    "status_code = v.code, error = v.error, at_message_id = v.at_id, cost = v.cost, "
    "sent_at = :now "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:codes AS integer[]), CAST(:errors AS text[]), "
    "CAST(:at_ids AS text[]), CAST(:costs AS text[])) AS v(id, code, error, at_id, cost) "
    "WHERE o.id = v.id AND o.status IN (:sending, :calling)"
).bindparams(bindparam("now", type_=_OUTBOX.c.sent_at.type))
_JUDGED_BY_ARRAYS = text(
    "UPDATE outbox_messages AS o SET status = v.status, backend = :backend, "
    "status_code = v.code, error = v.error, attempts = o.attempts - v.undo "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:statuses AS text[]), "
    "CAST(:codes AS integer[]), CAST(:errors AS text[]), CAST(:undo AS integer[])) "
    "AS v(id, status, code, error, undo) "
    "WHERE o.id = v.id AND o.status IN (:sending, :calling)")


def _record_by_arrays(db: Session, accepted: list[dict], judged: list[dict], backend: str,
                      now: datetime) -> None:
    common = {"backend": backend, "sending": OutboxStatus.SENDING.value,
              "calling": OutboxStatus.CALLING.value}
    if accepted:
        db.execute(_ACCEPTED_BY_ARRAYS, {
            **common, "status": OutboxStatus.SENT.value, "now": now,
            **_columns(accepted, ids="row_id", codes="new_code", errors="new_error",
                       at_ids="new_at_id", costs="new_cost")})
    if judged:
        db.execute(_JUDGED_BY_ARRAYS, {**common, **_columns(
            judged, ids="row_id", statuses="new_status", codes="new_code",
            errors="new_error", undo="undo")})


def _columns(rows: list[dict], **names: str) -> dict[str, list]:
    """Row dicts to one list per column: {array name: [row[key] for each row]}."""
    return {array: [row[key] for row in rows] for array, key in names.items()}


def schedule_retry(db: Session, ids: Sequence[int], due: datetime) -> None:
    """Note when rows put back for a retry fall due (the relay's fallback if the job is lost)."""
    if ids:
        db.execute(update(_OUTBOX).where(_id_in(db, sorted(ids)))
                   .values(next_attempt_at=due))


_STATUS = {
    Verdict.ACCEPTED: OutboxStatus.SENT,
    Verdict.FAILED: OutboxStatus.FAILED,
    Verdict.UNCERTAIN: OutboxStatus.UNCERTAIN,
    Verdict.SUPPRESS: OutboxStatus.SUPPRESSED,
    Verdict.RETRY: OutboxStatus.QUEUED,
    Verdict.PAUSE: OutboxStatus.QUEUED,
}


def _verdict(row: Claimed, outcome: RecipientOutcome) -> Verdict:
    if row.lane == SendLane.CAMPAIGN:
        return Verdict.PAUSE if outcome.status_code in ACCOUNT_HOLD_CODES else outcome.verdict
    # A reply or notice keeps its backoff on an empty balance; campaigns wait.
    return Verdict.RETRY if outcome.verdict is Verdict.PAUSE else outcome.verdict
