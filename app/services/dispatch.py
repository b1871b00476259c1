"""Handing work to workers: rq queues when Redis is configured, this process otherwise.

Queues, highest priority first: a resident waiting for a reply goes before a notice, and both
before a campaign. Jobs are named by import path (`workers.jobs...`), so this module never
imports the workers, and carry only ids: the database holds the truth.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from redis import Redis
from rq import Queue
from rq import Retry as RqRetry

from app.db.models import SendLane
from app.services.inbound_sms import InboundSmsHandler
from app.services.sms_sender import SmsSender

log = logging.getLogger(__name__)

REPLIES, NOTICES, CAMPAIGNS = "replies", "notices", "campaigns"
QUEUES = (REPLIES, NOTICES, CAMPAIGNS)  # the order a worker listens in
LANE_QUEUES = {SendLane.REPLY: REPLIES, SendLane.NOTICE: NOTICES, SendLane.CAMPAIGN: CAMPAIGNS}

HANDLE_INBOUND_JOB = "workers.jobs.handle_inbound_sms"
SEND_JOB = "workers.jobs.send_sms"
JOB_TIMEOUT = 120  # seconds; a send job makes a few AT calls of at most ~12 s each
# A job that raised (database restarting...) runs again; both jobs are safe to repeat.
JOB_RETRY = (3, [10, 60, 300])


class Dispatcher(Protocol):
    def handle_inbound_sms(self, inbound_id: int) -> None: ...

    def send_sms(self, outbox_ids: Sequence[int], lane: SendLane, delay: int = 0) -> None: ...


class RqDispatcher:
    def __init__(self, redis: Redis, batch_size: int = 100) -> None:
        self.queues = {name: Queue(name, connection=redis) for name in QUEUES}
        self.batch_size = batch_size

    def handle_inbound_sms(self, inbound_id: int) -> None:
        self.queues[REPLIES].enqueue(HANDLE_INBOUND_JOB, inbound_id, **_job_options())

    def send_sms(self, outbox_ids: Sequence[int], lane: SendLane, delay: int = 0) -> None:
        queue = self.queues[LANE_QUEUES[SendLane(lane)]]
        ids = list(outbox_ids)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start:start + self.batch_size]
            if delay:
                queue.enqueue_in(timedelta(seconds=delay), SEND_JOB, chunk, **_job_options())
            else:
                queue.enqueue(SEND_JOB, chunk, **_job_options())


def _job_options() -> dict[str, object]:
    attempts, intervals = JOB_RETRY
    return {"job_timeout": JOB_TIMEOUT, "retry": RqRetry(max=attempts, interval=intervals)}


Schedule = Callable[[float, Callable[[], None]], None]


def run_later(delay: float, work: Callable[[], None]) -> None:
    """A timer thread: good enough for retries in a development process."""
    timer = threading.Timer(delay, work)
    timer.daemon = True
    timer.start()


class InlineDispatcher:
    """No Redis (development): the same work, done at once in this process.

    Errors are logged, not raised, as a worker would: the caller's request has already stored
    what it needed.
    """

    def __init__(self, inbound: InboundSmsHandler, sender: SmsSender,
                 schedule: Schedule = run_later) -> None:
        self.inbound = inbound
        self.sender = sender
        self.schedule = schedule

    def handle_inbound_sms(self, inbound_id: int) -> None:
        try:
            handle_inbound_sms(self.inbound, self, inbound_id)
        except Exception:
            log.exception("handling inbound SMS %s failed", inbound_id)

    def send_sms(self, outbox_ids: Sequence[int], lane: SendLane, delay: int = 0) -> None:
        ids = list(outbox_ids)
        if delay:
            self.schedule(delay, lambda: self.send_sms(ids, lane))
            return
        try:
            send_sms(self.sender, self, ids)
        except Exception:
            log.exception("sending SMS %s failed", ids[:5])


def handle_inbound_sms(handler: InboundSmsHandler, dispatcher: Dispatcher,
                       inbound_id: int) -> None:
    """Answer a message, then hand the reply to the sender (after the answer committed)."""
    reply_ids = handler.handle(inbound_id)
    if reply_ids:
        dispatcher.send_sms(reply_ids, SendLane.REPLY)


def send_sms(sender: SmsSender, dispatcher: Dispatcher, outbox_ids: Sequence[int]) -> None:
    """Send rows, then schedule another attempt for those a transient failure put back."""
    report = sender.send(outbox_ids)
    for retry in report.retries:
        dispatcher.send_sms(retry.ids, retry.lane, delay=retry.delay)
