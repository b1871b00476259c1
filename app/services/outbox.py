"""The outbox: every outbound SMS is a row first, claimed before it is sent, judged after.

Callers add rows inside their own transaction and hand the new ids to the dispatcher only
after commit, so a rolled-back change never sends anything and a sent row always exists.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import ColumnElement, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from app.channels.sms_out import RecipientOutcome, Verdict
from app.db.base import utcnow
from app.db.lists import one_of
from app.db.models import (
    Organization,
    OutboxMessage,
    OutboxStatus,
    SendLane,
    SuppressionSource,
)
from app.db.upserts import dialect_of
from app.services import delivery_reports, suppressions

# The send path's statements go to the table, not through the ORM: a wave is thousands of
# rows, and plain rows (Queued) cost a fraction of loaded, tracked objects.
_OUTBOX = OutboxMessage.__table__
# Built once: cheaper to run.
_QUEUE = insert(_OUTBOX).returning(_OUTBOX.c.id)
_SENDER = select(Organization.__table__.c.sms_sender).where(
    Organization.__table__.c.id == bindparam("organization_id"))


class _Read(Enum):
    ORGANIZATIONS = "the organization's sender, read from the database"


ORGANIZATIONS_SENDER = _Read.ORGANIZATIONS


def queue_sms(db: Session, organization_id: int, msisdn: str, body: str, lane: SendLane,
              *, sender: str | None | _Read = ORGANIZATIONS_SENDER) -> int:
    """Add a QUEUED message and return its id; committed only with the caller's transaction.
    `sender` None is AT's default; a caller that already holds the organization's sender
    passes it (None included), otherwise it is read. A plain INSERT: a USSD Confirm queues
    its receipt this way, and a loaded, tracked object would cost it more than the insert."""
    if sender is ORGANIZATIONS_SENDER:
        sender = db.execute(_SENDER, {"organization_id": organization_id}).scalar()
    db.flush()  # a plain statement does not autoflush: the caller's pending rows go first
    return db.execute(_QUEUE, {"organization_id": organization_id, "msisdn": msisdn,
                               "body": body, "sender": sender, "lane": lane.value,
                               "status": OutboxStatus.QUEUED.value,
                               "created_at": utcnow()}).scalar_one()


def _id_in(db: Session, ids: list[int]) -> ColumnElement[bool]:
    return one_of(db, _OUTBOX.c.id, ids, "ids")


def status_in(*statuses: OutboxStatus) -> ColumnElement[bool]:
    """The row is still in one of `statuses`: a guard on rows already picked by id.

    Written so that no index can serve it (`status || ''`): the planner must reach the rows by
    primary key. With the status plain, a stale estimate (statistics taken before a wave was
    claimed say no row is `calling`) sends it through the status index instead, reading every
    row of the wave for each batch of a hundred.
    """
    unindexed = _OUTBOX.c.status + ""
    return or_(*(unindexed == status.value for status in statuses))  # no IN: see _WHERE


@dataclass(frozen=True, slots=True)
class Queued:
    """What the sender needs of a row it may send; `attempts` counts this attempt."""

    id: int
    organization_id: int
    msisdn: str
    body: str
    sender: str | None
    lane: str
    campaign_id: int | None
    created_at: datetime
    attempts: int


def queued(db: Session, ids: Iterable[int]) -> list[Queued]:
    """The rows among `ids` still QUEUED, by id, with `attempts` counting the coming attempt:
    read, not claimed. A row is claimed (`claim`) only as its batch is called."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    c = _OUTBOX.c
    found = db.execute(select(c.id, c.organization_id, c.msisdn, c.body, c.sender, c.lane,
                              c.campaign_id, c.created_at, c.attempts + 1)
                       .where(_id_in(db, wanted), status_in(OutboxStatus.QUEUED))
                       .order_by(c.id))
    return [Queued(*row) for row in found]


def claim(db: Session, rows: Sequence[Queued]) -> set[int]:
    """QUEUED -> CALLING, counting the attempt, for the `rows` no one attempted since they
    were read; returns the ids claimed.

    The caller commits this just before the AT request, and calls only the rows returned: a
    conditional UPDATE, so two workers given the same rows cannot both claim one, and from here
    on a crash leaves the row for a person (UNCERTAIN), never for a blind resend. Until then
    the row is QUEUED, and whoever hands it on again (the relay, a campaign's next pass) cannot
    make it go twice. A row attempted since it was read (another job called it, and AT's answer
    put it back for a retry) is left to that retry: its backoff, or a DND refusal's wait for
    the sending window, is not skipped.
    """
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_attempts[row.attempts].append(row.id)
    c = _OUTBOX.c
    stamp = utcnow()
    claimed: set[int] = set()
    for attempts, ids in by_attempts.items():  # nearly always one: a batch's rows go together
        claimed.update(db.scalars(
            update(_OUTBOX)
            .where(_id_in(db, sorted(ids)), status_in(OutboxStatus.QUEUED),
                   c.attempts == attempts - 1)
            .values(status=OutboxStatus.CALLING, attempts=attempts, claimed_at=stamp,
                    calling_at=stamp, next_attempt_at=None)
            .returning(c.id)))
    return claimed


def back_to_campaign(db: Session, ids: Iterable[int]) -> None:
    """Campaign rows a send job leaves queued (their campaign paused, the account held): any
    retry of theirs is dropped, so that only their campaign hands them over again, after a
    resume and inside its sending hours, never the relay's retry fallback."""
    wanted = sorted(set(ids))
    if wanted:
        db.execute(update(_OUTBOX)
                   .where(_id_in(db, wanted), status_in(OutboxStatus.QUEUED),
                          _OUTBOX.c.next_attempt_at.is_not(None))
                   .values(next_attempt_at=None))


def hold_suppressed(db: Session, rows: Sequence[Queued]) -> set[int]:
    """Mark queued rows to opted-out numbers SUPPRESSED; return their ids.

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
        return set(db.scalars(update(_OUTBOX)
                              .where(_id_in(db, sorted(held)), status_in(OutboxStatus.QUEUED))
                              .values(status=OutboxStatus.SUPPRESSED, error="opted out")
                              .returning(_OUTBOX.c.id)))
    return held


# AT refusing the account or its sender id, not the number: a campaign row waits (like 405)
# for a person to fix the account; a reply or notice fails as before (logged as an error).
ACCOUNT_HOLD_CODES = frozenset({401, 402})  # RiskHold, InvalidSenderId


@dataclass(frozen=True)
class Retrying:
    """A row put back in the queue for a later attempt, and AT's status code for it."""

    row: Queued
    status_code: int | None


@dataclass(frozen=True)
class Recorded:
    retry: tuple[Retrying, ...] = ()  # put back in the queue for a later attempt
    # Campaign rows held by the account (401, 402, 405), still queued, and AT's reason.
    paused: tuple[int, ...] = ()
    gave_up: int = 0
    hold_reason: str | None = None


# One statement per shape, run once for all of a batch's rows (executemany); a row no longer
# CALLING (the relay gave up on it) is left as it is.
_WHERE = (_OUTBOX.c.id == bindparam("row_id"),  # no IN: executemany takes no expanding list
          status_in(OutboxStatus.CALLING))
_JUDGED = dict(status=bindparam("new_status"), backend=bindparam("new_backend"),
               status_code=bindparam("new_code"), error=bindparam("new_error"))
_RECORD = update(_OUTBOX).where(*_WHERE).values(
    **_JUDGED, attempts=_OUTBOX.c.attempts - bindparam("undo"))
_RECORD_ACCEPTED = update(_OUTBOX).where(*_WHERE).values(
    **_JUDGED, at_message_id=bindparam("new_at_id"), cost=bindparam("new_cost"),
    sent_at=bindparam("new_sent_at"))


def record(db: Session, rows: Sequence[Queued], outcomes: Mapping[int, RecipientOutcome],
           backend: str, give_up_after: int) -> Recorded:
    """Store each called row's outcome (rows still CALLING): at most two statements."""
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
    if dialect_of(db) == "postgresql":
        waiting = _record_as_json(db, accepted, judged, backend, now)
    else:
        for statement, params in ((_RECORD_ACCEPTED, accepted), (_RECORD, judged)):
            if params:
                db.execute(statement, params)
        waiting = {v["new_at_id"]: v["row_id"] for v in accepted if v["new_at_id"]}
    # A report that overtook this record (AT reported before we stored its id) applies now.
    delivery_reports.apply_waiting(db, waiting)
    return Recorded(tuple(retry), tuple(paused), gave_up, reason)


# PostgreSQL: one statement for the whole batch, its rows as one JSON parameter (a single
# string for the driver to send, where arrays are dumped element by element in Python). It
# returns only the accepted rows a delivery report is already waiting for (usually none).
_RECORD_AS_JSON = text(
    "WITH v AS (SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS v(id integer, "
    "status text, code integer, error text, at_id text, cost text, undo integer)), "
    "recorded AS (UPDATE outbox_messages AS o SET status = v.status, backend = :backend, "
    "status_code = v.code, error = v.error, attempts = o.attempts - v.undo, "
    "at_message_id = coalesce(v.at_id, o.at_message_id), cost = coalesce(v.cost, o.cost), "
    "sent_at = CASE WHEN v.status = :sent THEN :now ELSE o.sent_at END "
    "FROM v WHERE o.id = v.id AND o.status || '' = :calling "  # see status_in
    "RETURNING o.id, o.at_message_id) "
    "SELECT r.at_message_id, r.id FROM recorded AS r WHERE r.at_message_id IS NOT NULL AND "
    "EXISTS (SELECT 1 FROM delivery_reports AS d WHERE d.at_id = r.at_message_id "
    "AND d.outbox_message_id IS NULL)"
).bindparams(bindparam("now", type_=_OUTBOX.c.sent_at.type))


def _record_as_json(db: Session, accepted: list[dict], judged: list[dict], backend: str,
                    now: datetime) -> dict[str, int]:
    """Write the batch's outcomes; returns {AT id: row id} of rows with a waiting report."""
    rows = [{"id": v["row_id"], "status": v["new_status"], "code": v["new_code"],
             "error": v["new_error"], "at_id": v.get("new_at_id"), "cost": v.get("new_cost"),
             "undo": v.get("undo", 0)} for v in (*accepted, *judged)]
    if not rows:
        return {}
    waiting = db.execute(_RECORD_AS_JSON, {
        "rows": json.dumps(rows), "backend": backend, "now": now,
        "sent": OutboxStatus.SENT.value, "calling": OutboxStatus.CALLING.value})
    return {at_id: row_id for at_id, row_id in waiting}


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


def _verdict(row: Queued, outcome: RecipientOutcome) -> Verdict:
    if row.lane == SendLane.CAMPAIGN:
        return Verdict.PAUSE if outcome.status_code in ACCOUNT_HOLD_CODES else outcome.verdict
    # A reply or notice keeps its backoff on an empty balance; campaigns wait.
    return Verdict.RETRY if outcome.verdict is Verdict.PAUSE else outcome.verdict
