"""Sending queued SMS: per batch, claim (committed), one backend call, record every recipient."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
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
from app.db.models import Organization, SendLane
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
    """Per batch: claim it (QUEUED -> CALLING, committed), call AT, record (committed with the
    next batch's claim, see _send_batch).

    Each step is committed before the next one starts, so a worker killed at any point leaves
    rows saying how far they got: QUEUED rows never reached AT and are handed on again (the
    relay, a campaign's next pass); CALLING rows may have, and become UNCERTAIN instead of
    being sent twice (app.services.outbox_relay).
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
        """Send what is still QUEUED among `outbox_ids`; rows claimed by another are skipped."""
        # One session on one connection for the whole job (no checkout and ping per
        # transaction), one transaction per step.
        with self._session() as db:
            with db.begin():
                rows = outbox.queued(db, outbox_ids)
                held = outbox.hold_suppressed(db, rows)
                # Queued before its campaign was paused (by a person or a hold): left queued.
                waiting = {r.id for r in holds.paused_campaign_rows(db, rows)
                           if r.id not in held}
                outbox.back_to_campaign(db, waiting)
            rows = [r for r in rows if r.id not in held and r.id not in waiting]
            tally = _Tally(suppressed=len(held))
            answered: _Answered | None = None
            for batch in batches(rows, self.batch_size):
                answered = self._send_batch(db, batch, answered, tally)
            if answered is not None:
                with db.begin():
                    self._record(db, answered, tally)
        report = tally.report()
        log.info("sent %d SMS via %s: %d accepted, %d failed, %d to retry, %d suppressed, "
                 "%d uncertain, %d paused", tally.total, self.backend.name, report.sent,
                 report.failed, sum(len(r.ids) for r in report.retries), report.suppressed,
                 report.uncertain, len(report.paused))
        if report.paused and self.on_pause is not None:
            self.on_pause(report.paused)
        return report

    @contextmanager
    def _session(self) -> Iterator[Session]:
        engine = self.sessions.kw.get("bind")
        if not isinstance(engine, Engine):
            with self.sessions() as db:
                yield db
            return
        # Each commit ends the connection's transaction; the connection itself is kept.
        with engine.connect() as connection, self.sessions(bind=connection) as db:
            yield db

    def _send_batch(self, db: Session, batch: list[outbox.Queued], answered: _Answered | None,
                    tally: _Tally) -> _Answered | None:
        """Record the previous batch's answers and claim this batch in one commit, then call
        AT; returns this batch's answers, recorded with the next batch or at the end.

        The previous batch is recorded first, so a hold it met stops this batch, and this
        batch is claimed only once AT has answered the previous one: a request that hangs
        leaves its own rows CALLING and the next ones QUEUED, as with a commit per step.
        """
        first = batch[0]
        if answered is not None and self._limited():
            with db.begin():  # its answers are not kept waiting for the rate limit
                self._record(db, answered, tally)
            answered = None
        if self.limiter is not None and not self._held(batch, tally):
            self.limiter.acquire(first.sender, len(batch))
        with db.begin():
            if answered is not None:
                self._record(db, answered, tally)
            if self._held(batch, tally):  # the account is held: the rest would fail
                outbox.back_to_campaign(db, [r.id for r in batch])  # for after a resume
                tally.paused.extend(r.id for r in batch)
                return None
            claimed = outbox.claim(db, batch)
        batch = [r for r in batch if r.id in claimed]  # another job may have taken some
        if not batch:
            return None
        answers = self.backend.send(first.sender, first.body, [r.msisdn for r in batch])
        return _Answered(batch, {row.id: answers.get(row.msisdn) or RecipientOutcome(
            Verdict.FAILED, error="backend gave no outcome") for row in batch})

    @staticmethod
    def _held(batch: list[outbox.Queued], tally: _Tally) -> bool:
        return bool(tally.paused) and batch[0].lane == SendLane.CAMPAIGN

    def _limited(self) -> bool:
        return self.limiter is not None and self.limiter.per_second > 0

    def _record(self, db: Session, answered: _Answered, tally: _Tally) -> None:
        """Store a batch's answers, schedule its retries and hold its campaign if AT refused
        the account; inside the caller's transaction."""
        batch, outcomes = answered.batch, answered.outcomes
        recorded = outbox.record(db, batch, outcomes, self.backend.name, MAX_ATTEMPTS)
        retrying = list(recorded.retry)
        now = self.clock()
        retries = _retries(retrying, self._windows(db, retrying), now)
        for retry in retries:
            outbox.schedule_retry(db, retry.ids, now + timedelta(seconds=retry.delay))
        if recorded.paused:
            tally.reason = tally.reason or recorded.hold_reason
            paused = set(recorded.paused)
            holds.hold(db, [r for r in batch if r.id in paused], tally.reason or "held",
                       self.clock())
        tally.add(outcomes, recorded, retries)

    def _windows(self, db: Session, rows: Sequence[outbox.Retrying]) -> dict[int, _Window]:
        """Time zone and sending window of each organization with a DND refusal among `rows`."""
        org_ids = sorted({r.row.organization_id for r in rows if _dnd(r)})
        if not org_ids:
            return {}
        found = db.execute(select(Organization.id, Organization.timezone,
                                  Organization.campaign_hours)
                           .where(Organization.id.in_(org_ids)))
        return {org_id: (tz, window_for(own, self.default_hours)) for org_id, tz, own in found}


@dataclass(frozen=True)
class _Answered:
    """A batch AT has answered, not yet recorded."""

    batch: list[outbox.Queued]
    outcomes: dict[int, RecipientOutcome]


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


def batches(rows: Sequence[outbox.Queued], size: int) -> Iterator[list[outbox.Queued]]:
    """Rows sharing sender and body, at most `size` per batch and each number once per batch:
    AT answers per number, so a number twice in one request could not be told apart."""
    groups: dict[tuple[str | None, str], list[outbox.Queued]] = defaultdict(list)
    for row in rows:
        groups[(row.sender, row.body)].append(row)
    for pending in groups.values():
        while pending:  # one pass per repeat of a number, rare; each pass is linear
            later: list[outbox.Queued] = []
            chunk: list[outbox.Queued] = []
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


def _dnd(retrying: outbox.Retrying) -> bool:
    return retrying.status_code == DND_CODE and retrying.row.lane != SendLane.REPLY


def _retries(rows: Sequence[outbox.Retrying], windows: dict[int, _Window] | None = None,
             now: datetime | None = None) -> tuple[Retry, ...]:
    """Retries grouped by lane and delay (the caller notes when each row falls due, so the
    relay can queue it again if its delayed job is lost: Redis restarted). A DND refusal
    waits for its organization's next sending window (`windows`: time zone and window by
    organization)."""
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    now = now or utcnow()
    windows = windows or {}
    for retrying in rows:
        row = retrying.row
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        if _dnd(retrying) and row.organization_id in windows:
            tz, window = windows[row.organization_id]
            delay = seconds_until_next_window(now, tz, window) or delay
        grouped[(SendLane(row.lane), delay)].append(row.id)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())


def _merged(retries: Sequence[Retry]) -> tuple[Retry, ...]:
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    for retry in retries:
        grouped[(retry.lane, retry.delay)].extend(retry.ids)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())
