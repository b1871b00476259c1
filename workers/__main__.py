"""`python -m workers`: one rq worker on the replies, notices and campaigns queues, in that order.

The runtime is built once here, before rq forks a work horse per job: the horse inherits it
(the database pool is still empty, so no connection is shared across processes). The job
functions are imported here too: rq imports a job's function in the work horse, so without
that every job (a one-SMS reply as much as a campaign wave) imported them all again.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from rq import Queue, Worker
from rq.worker import BaseWorker

from app.logs import configure_logging
from app.runtime import Runtime, build_runtime
from app.services import inbound_sms, outbox_relay
from app.services.dispatch import QUEUES
from app.settings import load_settings, log_format_of
from workers import jobs  # noqa: F401 - see below
from workers.context import set_runtime

log = logging.getLogger("workers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    args = parser.parse_args(argv)
    configure_logging(log_format_of(os.environ))
    runtime = build_runtime(load_settings())
    if runtime.redis is None:
        log.error("REDIS_URL is not set: there is no queue to work on "
                  "(without Redis the web process does the work itself)")
        return 2
    relay_at_start(runtime)
    worker = build_worker(runtime)
    # The scheduler moves delayed jobs (send retries after a backoff) onto their queues.
    worker.work(burst=args.burst, with_scheduler=True)
    return 0


def relay_at_start(runtime: Runtime) -> None:
    """Rows a worker that died left behind are handed on before this one starts work."""
    try:
        outbox_relay.relay(runtime.sessions, runtime.dispatcher)
        inbound_sms.relay_received(runtime.sessions, runtime.dispatcher.handle_inbound_sms)
    except Exception:
        log.exception("outbox relay at start failed; the periodic relay will retry")


def build_worker(runtime: Runtime, worker_class: type[BaseWorker] = Worker) -> BaseWorker:
    """A worker listening on QUEUES in priority order, with `runtime` set for the jobs."""
    if runtime.redis is None:
        raise ValueError("workers need Redis")
    set_runtime(runtime)
    queues = [Queue(name, connection=runtime.redis) for name in QUEUES]
    return worker_class(queues, connection=runtime.redis)


if __name__ == "__main__":
    sys.exit(main())
