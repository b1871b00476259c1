"""`python -m workers.cron`: the scheduler that puts periodic jobs on the queues.

It only enqueues; `python -m workers` runs the jobs: the outbox relay and sweeps, campaign
sweeps, ticket escalation (every `TICKET_ESCALATION_INTERVAL` seconds), and the PMC reminder
job, every `PMC_REMINDER_INTERVAL` seconds (a day by default) and once at start, or on a cron
expression (`--cron "0 9 * * *"`: the host's local time) to send at a civil hour. Every job is
safe to run any number of times: a seat is reminded at most once per `PMC_REMINDER_DAYS` and a
ticket is escalated once, so a restart or a second scheduler sends nothing twice.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from croniter import croniter
from redis import Redis
from rq.cron import CronJob, CronScheduler

from app.logs import configure_logging
from app.services.dispatch import CAMPAIGNS, NOTICES
from app.settings import Settings, load_settings, log_format_of
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


RELAY_INTERVAL = 60  # seconds between outbox relay passes (app.services.outbox_relay)
SWEEP_INTERVAL = 3600  # seconds between delivery-report sweeps
OUTBOX_JOB_TIMEOUT = 300  # seconds; database work only, no call to AT


def register_outbox_jobs(scheduler: CronScheduler) -> list[CronJob]:
    """The outbox's housekeeping: the relay (lost and stuck rows) and the sweep that gives up
    on delivery reports after 72 h. Both are safe to run any number of times."""
    return [scheduler.register(jobs.relay_outbox, NOTICES, name="relay_outbox",
                               job_timeout=OUTBOX_JOB_TIMEOUT, interval=RELAY_INTERVAL),
            scheduler.register(jobs.sweep_delivery_reports, NOTICES,
                               name="sweep_delivery_reports", job_timeout=OUTBOX_JOB_TIMEOUT,
                               interval=SWEEP_INTERVAL)]


CAMPAIGN_SWEEP_INTERVAL = 60  # seconds between passes of app.campaigns.runner.sweep


def register_campaign_jobs(scheduler: CronScheduler) -> list[CronJob]:
    """Campaign steps lost with a queue or a worker, queued again; safe to repeat."""
    return [scheduler.register(jobs.sweep_campaigns, CAMPAIGNS, name="sweep_campaigns",
                               job_timeout=OUTBOX_JOB_TIMEOUT, interval=CAMPAIGN_SWEEP_INTERVAL)]


TICKET_JOB_TIMEOUT = 300  # seconds; database work, the SMS go through the outbox


def register_ticket_jobs(scheduler: CronScheduler, settings: Settings) -> list[CronJob]:
    """Overdue complaints escalated to supervisors every TICKET_ESCALATION_INTERVAL seconds;
    each ticket is escalated once however often this runs."""
    return [scheduler.register(jobs.escalate_tickets, NOTICES, name="escalate_tickets",
                               job_timeout=TICKET_JOB_TIMEOUT,
                               interval=settings.ticket_escalation_interval)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.cron", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cron", metavar="EXPRESSION",
                        help="run on this cron schedule instead of every PMC_REMINDER_INTERVAL "
                             "seconds")
    args = parser.parse_args(argv)
    if args.cron and not croniter.is_valid(args.cron):
        parser.error(f"--cron: not a cron expression: {args.cron!r}")
    configure_logging(log_format_of(os.environ))
    settings = load_settings()
    if not settings.redis_url:
        log.error("REDIS_URL is not set: there is no queue to schedule on "
                  "(without Redis, run `baraza pmc remind` from the system's cron)")
        return 2
    scheduler = CronScheduler(connection=Redis.from_url(settings.redis_url))
    register_jobs(scheduler, settings, args.cron)
    register_outbox_jobs(scheduler)
    register_campaign_jobs(scheduler)
    register_ticket_jobs(scheduler, settings)
    scheduler.start()  # until SIGINT or SIGTERM
    return 0


if __name__ == "__main__":
    sys.exit(main())
