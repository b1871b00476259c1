"""Escalation as it runs in production: the scheduler, a real rq worker, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import select

from app.db.models import OutboxMessage, OutboxStatus, Role, TicketCategory, User
from app.services.dispatch import NOTICES
from app.settings import Settings
from tests.console_support import add_user
from tests.factories import add_counties
from tests.pmc_support import ok, run
from tests.ticket_support import open_one, ticket
from workers import cron
from workers.__main__ import build_worker

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
SUPERVISOR_PHONE = "+254700000999"
prod_only = pytest.mark.parametrize("stack", ["prod"])  # PostgreSQL + Redis only


def _supervisor(runtime) -> None:
    email = add_user(runtime, Role.SUPERVISOR.value, "nandi")
    with runtime.sessions.begin() as db:
        db.scalar(select(User).where(User.email == email)).msisdn = SUPERVISOR_PHONE



@prod_only
def test_two_schedulers_and_a_real_worker_escalate_once(at_runtime, fake_at):
    add_counties(at_runtime)
    _supervisor(at_runtime)
    ref = open_one(at_runtime, category=TicketCategory.ENQUIRY, notify=False,
                   now=MONDAY - timedelta(days=30))
    settings = at_runtime.settings.with_overrides(ticket_escalation_interval=600)
    for _ in range(2):  # two scheduler processes, or one restarted
        scheduler = CronScheduler(connection=at_runtime.redis)
        [job] = cron.register_ticket_jobs(scheduler, settings)
        assert (job.interval, job.queue_name, job.func_name) == (
            600, NOTICES, "workers.jobs.escalate_tickets")
        assert scheduler.enqueue_jobs() == [job]
    assert Queue(NOTICES, connection=at_runtime.redis).count == 2
    build_worker(at_runtime, SimpleWorker).work(burst=True, logging_level="WARNING")
    with at_runtime.sessions() as db:
        assert ticket(db, ref).escalated_at is not None
        rows = db.scalars(select(OutboxMessage)).all()
        assert [(r.msisdn, r.status) for r in rows] == [(SUPERVISOR_PHONE, OutboxStatus.SENT)]
    assert len(fake_at.requests) == 1 and ref in fake_at.requests[0].message


def test_the_cli_escalates_at_a_given_time_and_shows_the_history(runtime, monkeypatch):
    add_counties(runtime)
    _supervisor(runtime)
    ref = open_one(runtime, category=TicketCategory.ENQUIRY, notify=False, now=MONDAY)
    before = ok(run(runtime, monkeypatch, "tickets", "escalate", "--now",
                    "2026-11-25T06:59:00+00:00"))
    assert before.output.startswith("0 tickets escalated")
    after = ok(run(runtime, monkeypatch, "tickets", "escalate", "--now",
                   "2026-11-25T07:00:00+00:00"))
    assert after.output.startswith("1 ticket escalated, 1 SMS")
    shown = ok(run(runtime, monkeypatch, "tickets", "show", ref, "--org", "nandi"))
    assert "escalated=2026-11-25T07:00:00+00:00" in shown.output
    assert "priority=high" in shown.output and "No water" not in shown.output
    mistyped = run(runtime, monkeypatch, "tickets", "show", ref[:-1] + str((int(ref[-1]) + 1) % 10),
                   "--org", "nandi")
    assert mistyped.exit_code != 0 and "check digit" in mistyped.output


def test_the_escalation_interval_is_a_setting():
    scheduler = CronScheduler(connection=None)
    [job] = cron.register_ticket_jobs(scheduler, Settings(ticket_escalation_interval=120))
    assert job.interval == 120
