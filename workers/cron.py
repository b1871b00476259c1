"""`python -m workers.cron`: the scheduler that puts periodic jobs on the queues.

It only enqueues; `python -m workers` runs the jobs. Today that is the PMC reminder job, every
`PMC_REMINDER_INTERVAL` seconds (a day by default) and once at start, or on a cron expression
(`--cron "0 9 * * *"`: the host's local time) to send at a civil hour. The job is safe to run
any number of times: a seat is reminded at most once per `PMC_REMINDER_DAYS` whatever the
schedule, so a restart or a second scheduler sends nothing twice.
"""

from __future__ import annotations

import argparse
import logging
import sys

from croniter import croniter
from redis import Redis
from rq.cron import CronJob, CronScheduler

from app.services.dispatch import NOTICES
from app.settings import Settings, load_settings
from workers import jobs

log = logging.getLogger("workers.cron")

REMINDER_JOB_TIMEOUT = 600  # seconds; one transaction per organization, no call to AT


def register_jobs(scheduler: CronScheduler, settings: Settings,
                  cron: str | None = None) -> list[CronJob]:
    """The periodic jobs, on `scheduler`: every `settings.pmc_reminder_interval` seconds, or
    on `cron` when given."""
    timing: dict[str, object] = ({"cron": cron} if cron
                                 else {"interval": settings.pmc_reminder_interval})
    return [scheduler.register(jobs.pmc_reminders, NOTICES, name="pmc_reminders",
                               job_timeout=REMINDER_JOB_TIMEOUT, **timing)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.cron", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cron", metavar="EXPRESSION",
                        help="run on this cron schedule instead of every PMC_REMINDER_INTERVAL "
                             "seconds")
    args = parser.parse_args(argv)
    if args.cron and not croniter.is_valid(args.cron):
        parser.error(f"--cron: not a cron expression: {args.cron!r}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if not settings.redis_url:
        log.error("REDIS_URL is not set: there is no queue to schedule on "
                  "(without Redis, run `baraza pmc remind` from the system's cron)")
        return 2
    scheduler = CronScheduler(connection=Redis.from_url(settings.redis_url))
    register_jobs(scheduler, settings, args.cron)
    scheduler.start()  # until SIGINT or SIGTERM
    return 0


if __name__ == "__main__":
    sys.exit(main())
