"""Sending queued SMS: claim (committed), one backend call per body, record every recipient."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from app.channels.sms_out import RecipientOutcome, SmsBackend, Verdict
from app.db.models import OutboxMessage, SendLane
from app.services import outbox

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


@dataclass
class SmsSender:
    sessions: sessionmaker[Session]
    backend: SmsBackend
    batch_size: int = 100

    def send(self, outbox_ids: Iterable[int]) -> SendReport:
        """Send what is still QUEUED among `outbox_ids`; rows already claimed are skipped."""
        with self.sessions.begin() as db:
            rows = outbox.claim(db, outbox_ids)  # committed before AT hears of them
        if not rows:
            return SendReport()
        outcomes: dict[int, RecipientOutcome] = {}
        for batch in batches(rows, self.batch_size):
            first = batch[0]
            answers = self.backend.send(first.sender, first.body, [r.msisdn for r in batch])
            for row in batch:
                outcomes[row.id] = answers.get(row.msisdn) or RecipientOutcome(
                    Verdict.FAILED, error="backend gave no outcome")
        with self.sessions.begin() as db:
            retry_rows = outbox.record(db, outcomes, self.backend.name, MAX_ATTEMPTS)
            retries = _retries(retry_rows)
        sent = sum(o.verdict is Verdict.ACCEPTED for o in outcomes.values())
        retrying = sum(len(r.ids) for r in retries)
        failed = len(outcomes) - sent - retrying
        log.info("sent %d SMS via %s: %d accepted, %d failed, %d to retry", len(outcomes),
                 self.backend.name, sent, failed, retrying)
        return SendReport(sent, failed, retries)


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
    grouped: dict[tuple[SendLane, int], list[int]] = defaultdict(list)
    for row in rows:
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        grouped[(SendLane(row.lane), delay)].append(row.id)
    return tuple(Retry(lane, delay, tuple(ids)) for (lane, delay), ids in grouped.items())
