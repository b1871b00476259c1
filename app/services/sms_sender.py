"""Sending queued SMS: claim (committed), one backend call per body, record every recipient."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns import holds
from app.campaigns.quiet_hours import (
    DEFAULT_WINDOW,
    Window,
    seconds_until_next_window,
    window_for,
)
from app.channels.sms_out import RecipientOutcome, SmsBackend, Verdict
from app.db.base import utcnow
from app.db.models import Organization, OutboxMessage, SendLane
from app.services import outbox
from app.services.send_rate import SendRateLimiter

log = logging.getLogger(__name__)

_Window = tuple[str, Window]  # an organization's time zone and sending window

# Seconds to wait before attempt n+1 after a transient failure of attempt n; then give up.
RETRY_DELAYS = (30, 120, 600, 1800)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# AT's 409 DoNotDisturbRejection: retried when the organization's sending window next opens
# (after the current one when it is open), not with the backoff; replies keep the backoff.
DND_CODE = 409


@dataclass(frozen=True)
class Retry:
    lane: SendLane
    delay: int
    ids: tuple[int, ...]


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    failed: int = 0
    retries: tuple[Retry, ...] = field(default=())
    suppressed: int = 0  # opted-out numbers: not sent, never will be
    uncertain: int = 0  # the AT call may have reached AT: left for a delivery report or a person
    # Campaign rows left QUEUED because AT's balance ran out (405): the campaign runner pauses
    # its campaign and sends them again after a top-up (also handed to SmsSender.on_pause).
    paused: tuple[int, ...] = field(default=())


@dataclass
class SmsSender:
    """Claim (committed), mark the batch CALLING (committed), call AT, record (committed).

    Each step is its own transaction, so a worker killed at any point leaves rows saying how
    far they got: SENDING rows never reached AT and the relay queues them again; CALLING rows
    may have, and become UNCERTAIN instead of being sent twice (app.services.outbox_relay).
    """

    sessions: sessionmaker[Session]
    backend: SmsBackend
    batch_size: int = 100
    limiter: SendRateLimiter | None = None
    # Called with the rows held by the account (401/402/405) after their campaign was paused
    # (app.campaigns.holds, in the same transaction as their outcome): for extra alerting.
    on_pause: Callable[[tuple[int, ...]], None] | None = None
    default_hours: str = DEFAULT_WINDOW  # CAMPAIGN_HOURS, for organizations without their own
    clock: Callable[[], datetime] = utcnow  # when retries fall due (tests fix it)

    def send(self, outbox_ids: Iterable[int]) -> SendReport:
        """Send what is still QUEUED among `outbox_ids`; rows already claimed are skipped."""
        # One session (one connection checkout) for the whole job, one transaction per step.
        with self.sessions() as db:
            with db.begin():
                rows = outbox.claim(db, outbox_ids)  # committed before AT hears of them
                held = outbox.hold_suppressed(db, rows)
                # Queued before its campaign was paused (by a person or a hold): not sent now.
                waiting = {r.id for r in holds.paused_campaign_rows(db, rows)
                           if r.id not in held}
                self._put_back(db, waiting, "campaign paused")
            rows = [r for r in rows if r.id not in held and r.id not in waiting]
            tally = _Tally(suppressed=len(held))
            for batch in batches(rows, self.batch_size):
                if tally.paused and batch[0].lane == SendLane.CAMPAIGN:
                    self._release(db, batch, tally)  # the account is held: the rest would fail
                    continue
                self._send_batch(db, batch, tally)
        report = tally.report()
        log.info("sent %d SMS via %s: %d accepted, %d failed, %d to retry, %d suppressed, "
                 "%d uncertain, %d paused", tally.total, self.backend.name, report.sent,
                 report.failed, sum(len(r.ids) for r in report.retries), report.suppressed,
                 report.uncertain, len(report.paused))
        if report.paused and self.on_pause is not None:
            self.on_pause(report.paused)
        return report

    def _send_batch(self, db: Session, batch: list[OutboxMessage], tally: _Tally) -> None:
        first = batch[0]
        if self.limiter is not None:
            self.limiter.acquire(first.sender, len(batch))
        with db.begin():
            calling = outbox.start_calling(db, [r.id for r in batch])
        batch = [r for r in batch if r.id in calling]  # the relay may have taken some back
        if not batch:
            return
        answers = self.backend.send(first.sender, first.body, [r.msisdn for r in batch])
        outcomes = {row.id: answers.get(row.msisdn) or RecipientOutcome(
            Verdict.FAILED, error="backend gave no outcome") for row in batch}
        with db.begin():
            recorded = outbox.record(db, outcomes, self.backend.name, MAX_ATTEMPTS)
            retries = _retries(recorded.retry, self._windows(db, recorded.retry), self.clock())
            if recorded.paused:
                tally.reason = tally.reason or recorded.hold_reason
                paused = set(recorded.paused)
                holds.hold(db, [r for r in batch if r.id in paused], tally.reason or "held",
                           self.clock())
        tally.add(outcomes, recorded, retries)

    def _release(self, db: Session, batch: list[OutboxMessage], tally: _Tally) -> None:
        ids = [r.id for r in batch]
        with db.begin():
            self._put_back(db, ids, f"paused: {tally.reason}")
        tally.paused.extend(ids)

    def _put_back(self, db: Session, ids: Iterable[int], reason: str) -> None:
        ids = sorted(ids)
        if ids:
            outbox.release(db, ids, reason)
            holds.requeue_recipients(db, ids)

    def _windows(self, db: Session, rows: Sequence[OutboxMessage]) -> dict[int, _Window]:
        """Time zone and sending window of each organization with a DND refusal among `rows`."""
        org_ids = sorted({r.organization_id for r in rows if _dnd(r)})
        if not org_ids:
            return {}
        found = db.execute(select(Organization.id, Organization.timezone,
                                  Organization.campaign_hours)
                           .where(Organization.id.in_(org_ids)))
        return {org_id: (tz, window_for(own, self.default_hours)) for org_id, tz, own in found}


@dataclass
class _Tally:
    suppressed: int = 0
    total: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    retries: list[Retry] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)
    reason: str | None = None  # why the account is held (AT's status name)

    def add(self, outcomes: dict[int, RecipientOutcome], recorded: outbox.Recorded,
            retries: tuple[Retry, ...]) -> None:
        verdicts = [o.verdict for o in outcomes.values()]
        self.total += len(verdicts)
        self.sent += verdicts.count(Verdict.ACCEPTED)
        self.failed += verdicts.count(Verdict.FAILED) + recorded.gave_up
        self.uncertain += verdicts.count(Verdict.UNCERTAIN)
        self.suppressed += verdicts.count(Verdict.SUPPRESS)
        self.retries.extend(retries)
        self.paused.extend(recorded.paused)

    def report(self) -> SendReport:
        return SendReport(self.sent, self.failed, _merged(self.retries), self.suppressed,
                          self.uncertain, tuple(self.paused))


def batches(rows: Sequence[OutboxMessage], size: int) -> Iterator[list[OutboxMessage]]:
    """Rows sharing sender and body, at most `size` per batch and each number once per batch:
    AT answers per number, so a number twice in one request could not be told apart."""
    groups: dict[tuple[str | None, str], list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        groups[(row.sender, row.body)].append(row)
    for pending in groups.values():
        while pending:  # one pass per repeat of a number, rare; each pass is linear
            later: list[OutboxMessage] = []
            chunk: list[OutboxMessage] = []
            seen: set[str] = set()
            for row in pending:
                if row.msisdn in seen:
                    later.append(row)
                    continue
                chunk.append(row)
                seen.add(row.msisdn)
                if len(chunk) == size:
                    yield chunk
                    chunk, seen = [], set()
            if chunk:
                yield chunk
            pending = later


def _dnd(row: OutboxMessage) -> bool:
    return row.status_code == DND_CODE and row.lane != SendLane.REPLY


def _retries(rows: Sequence[OutboxMessage], windows: dict[int, _Window] | None = None,
             now: datetime | None = None) -> tuple[Retry, ...]:
    """Retries grouped by lane and delay; each row also notes when it is due, so the relay
    can queue it again if its delayed job is lost (Redis restarted). A DND refusal waits for
    its organization's next sending window (`windows`: time zone and window by organization)."""
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    now = now or utcnow()
    windows = windows or {}
    for row in rows:
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        if _dnd(row) and row.organization_id in windows:
            tz, window = windows[row.organization_id]
            delay = seconds_until_next_window(now, tz, window) or delay
        row.next_attempt_at = now + timedelta(seconds=delay)
        grouped[(SendLane(row.lane), delay)].append(row.id)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())


def _merged(retries: Sequence[Retry]) -> tuple[Retry, ...]:
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    for retry in retries:
        grouped[(retry.lane, retry.delay)].extend(retry.ids)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())
