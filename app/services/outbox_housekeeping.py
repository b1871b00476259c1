"""The outbox's housekeeping without Redis (the `make run` stack): the relay, the campaign sweep
and the delivery-report sweep, in this process, once at start and then every minute.

With Redis, `python -m workers.cron` schedules the same passes and each worker relays at start.
Without it, the web process (or a CLI command) sends in process, and a process stopped
mid-send leaves `queued`/`calling` rows, retries waiting on timers that died with it, and
campaign waves nobody will queue: the same passes find them in the database. They are safe
to run any number of times, next to other processes doing the same.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.services import delivery_reports, outbox_relay

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

INTERVAL = 60  # seconds between passes, as workers.cron's RELAY_INTERVAL


@dataclass(frozen=True)
class Pass:
    relayed: outbox_relay.Relayed
    campaigns: tuple[int, int]  # campaign steps queued again: (materialise, advance)
    unreported: int  # delivery reports given up on


def housekeeping_pass(runtime: Runtime, now: datetime | None = None) -> Pass:
    """One pass; `now` (tests) decides what counts as stale."""
    from app.campaigns.runner import campaign_jobs, sweep  # the runner imports the dispatcher

    relayed = outbox_relay.relay(runtime.sessions, runtime.dispatcher, now)
    campaigns = sweep(runtime, campaign_jobs(runtime), now)
    unreported = delivery_reports.sweep_unreported(runtime.sessions, now)
    return Pass(relayed, campaigns, unreported)


def start_housekeeping(runtime: Runtime, interval: float = INTERVAL) -> threading.Event:
    """A daemon thread running a pass now and every `interval` seconds, for a process without
    Redis; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                housekeeping_pass(runtime)
            except Exception:  # the next pass tries again; the process carries on
                log.exception("outbox housekeeping pass failed")
            if stop.wait(interval):
                return

    threading.Thread(target=loop, name="outbox-housekeeping", daemon=True).start()
    return stop
