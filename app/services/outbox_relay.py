"""The relay: rows a dead worker or a lost queue left behind, found in the database and
handed on. It runs periodically (workers.cron) and when a worker starts.

- CALLING (the AT request may have left) for longer than any job may run: UNCERTAIN, never
  resent automatically, since AT has no idempotency key. A delivery report for that number
  reconciles it (app.services.delivery_reports); otherwise a person decides.
- QUEUED replies and notices nobody sent (a job lost with Redis, an enqueue that failed after
  commit, a worker killed before it reached them), and any lane's retries long past due:
  handed to the dispatcher again. A duplicate job is harmless: claiming is conditional.
  Campaign rows with no retry pending are the campaign runner's to queue (sending hours,
  pauses), not the relay's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import OutboxMessage, OutboxStatus, SendLane
from app.services.dispatch import JOB_TIMEOUT, Dispatcher

log = logging.getLogger(__name__)

# A job is killed after JOB_TIMEOUT: a row called longer ago than this has no worker left to
# finish it.
STALE = timedelta(seconds=JOB_TIMEOUT + 60)
LOST = timedelta(minutes=5)  # a queued row (or a due retry) untouched this long lost its job


@dataclass(frozen=True)
class Relayed:
    uncertain: int = 0  # CALLING rows given up on
    handed_on: int = 0  # queued rows given to the dispatcher again


def relay(sessions: sessionmaker[Session], dispatcher: Dispatcher,
          now: datetime | None = None) -> Relayed:
    """One pass; `now` (tests, or a late run) decides what counts as stale."""
    now = now or utcnow()
    with sessions.begin() as db:
        uncertain = db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.CALLING,
                   OutboxMessage.calling_at < now - STALE)
            .values(status=OutboxStatus.UNCERTAIN,
                    error="the worker stopped during the AT call: not resent")
        ).rowcount
        waiting = _lost_queued(db, now)
    by_lane: dict[SendLane, list[int]] = defaultdict(list)
    for row_id, lane in waiting:
        by_lane[SendLane(lane)].append(row_id)
    for lane, ids in by_lane.items():
        dispatcher.send_sms(sorted(ids), lane)
    result = Relayed(uncertain, len(waiting))
    if result != Relayed():
        log.warning("outbox relay: %d calls left uncertain, %d rows handed to the dispatcher",
                    result.uncertain, result.handed_on)
    return result


def _lost_queued(db: Session, now: datetime) -> list[tuple[int, str]]:
    retry_lost = and_(OutboxMessage.next_attempt_at.is_not(None),
                      OutboxMessage.next_attempt_at < now - LOST)
    never_picked = and_(OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.lane != SendLane.CAMPAIGN,
                        OutboxMessage.created_at < now - LOST)
    return [(row_id, lane) for row_id, lane in db.execute(
        select(OutboxMessage.id, OutboxMessage.lane)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, or_(retry_lost, never_picked))
        .order_by(OutboxMessage.id))]
