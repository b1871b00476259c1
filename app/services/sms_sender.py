"""Sending queued SMS: claim (committed), one backend call per body, record every recipient."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.channels.sms_out import RecipientOutcome, SmsBackend, Verdict
from app.db.base import utcnow
from app.db.models import OutboxMessage, SendLane
from app.services import outbox
from app.services.send_rate import SendRateLimiter

log = logging.getLogger(__name__)

# Seconds to wait before attempt n+1 after a transient failure of attempt n; then give up.
RETRY_DELAYS = (30, 120, 600, 1800)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


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
    on_pause: Callable[[tuple[int, ...]], None] | None = None  # the campaign runner's hook

    def send(self, outbox_ids: Iterable[int]) -> SendReport:
        """Send what is still QUEUED among `outbox_ids`; rows already claimed are skipped."""
        with self.sessions.begin() as db:
            rows = outbox.claim(db, outbox_ids)  # committed before AT hears of them
            held = outbox.hold_suppressed(db, rows)
        rows = [r for r in rows if r.id not in held]
        tally = _Tally(suppressed=len(held))
        for batch in batches(rows, self.batch_size):
            if tally.paused and batch[0].lane == SendLane.CAMPAIGN:
                self._release(batch, tally)
                continue
            self._send_batch(batch, tally)
        report = tally.report()
        log.info("sent %d SMS via %s: %d accepted, %d failed, %d to retry, %d suppressed, "
                 "%d uncertain, %d paused", tally.total, self.backend.name, report.sent,
                 report.failed, sum(len(r.ids) for r in report.retries), report.suppressed,
                 report.uncertain, len(report.paused))
        if report.paused and self.on_pause is not None:
            self.on_pause(report.paused)
        return report

    def _send_batch(self, batch: list[OutboxMessage], tally: _Tally) -> None:
        first = batch[0]
        if self.limiter is not None:
            self.limiter.acquire(first.sender, len(batch))
        with self.sessions.begin() as db:
            calling = outbox.start_calling(db, [r.id for r in batch])
        batch = [r for r in batch if r.id in calling]  # the relay may have taken some back
        if not batch:
            return
        answers = self.backend.send(first.sender, first.body, [r.msisdn for r in batch])
        outcomes = {row.id: answers.get(row.msisdn) or RecipientOutcome(
            Verdict.FAILED, error="backend gave no outcome") for row in batch}
        with self.sessions.begin() as db:
            recorded = outbox.record(db, outcomes, self.backend.name, MAX_ATTEMPTS)
            retries = _retries(recorded.retry)
        tally.add(outcomes, recorded, retries)

    def _release(self, batch: list[OutboxMessage], tally: _Tally) -> None:
        ids = [r.id for r in batch]
        with self.sessions.begin() as db:
            outbox.release(db, ids, "paused: InsufficientBalance")
        tally.paused.extend(ids)


@dataclass
class _Tally:
    suppressed: int = 0
    total: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    retries: list[Retry] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)

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


def _retries(rows: Sequence[OutboxMessage]) -> tuple[Retry, ...]:
    """Retries grouped by lane and delay; each row also notes when it is due, so the relay
    can queue it again if its delayed job is lost (Redis restarted)."""
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    now = utcnow()
    for row in rows:
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        row.next_attempt_at = now + timedelta(seconds=delay)
        grouped[(SendLane(row.lane), delay)].append(row.id)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())


def _merged(retries: Sequence[Retry]) -> tuple[Retry, ...]:
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    for retry in retries:
        grouped[(retry.lane, retry.delay)].extend(retry.ids)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())
