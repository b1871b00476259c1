"""Real rq workers on the real Redis: an inbound SMS end to end, through the fake AT server."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from rq import Queue, SimpleWorker, Worker
from rq.job import Job

from app.db.models import InboundStatus, OutboxStatus, SendLane
from app.runtime import build_runtime
from app.services.dispatch import CAMPAIGNS, NOTICES, QUEUES, REPLIES
from app.services.sms_sender import RETRY_DELAYS
from tests.factories import add_counties
from tests.sms_support import PHONE, inbound, outbox, post_sms
from workers.__main__ import build_worker
from workers.context import set_runtime

HELP_EN = ("Makueni County SMS. Send one of these to 40014:\n"
           "HELP - this list\nLANG EN/SW - change language\nVOTE 3 12 7 - vote\n"
           "RECEIPT <code> - check vote\nIDEA <cost> <idea>")

prod_only = pytest.mark.parametrize("stack", ["prod"])  # PostgreSQL + Redis only


@pytest.fixture
def runtime(settings, fake_at):
    """The production wiring, with AT's SDK pointed at the local AT-compatible server."""
    runtime = build_runtime(settings.with_overrides(
        at_username=fake_at.username, at_api_key=fake_at.api_key, at_api_url=fake_at.url))
    add_counties(runtime)
    yield runtime
    set_runtime(None)
    runtime.close()


def work(runtime, with_scheduler: bool = False, worker_class=SimpleWorker) -> None:
    build_worker(runtime, worker_class).work(burst=True, with_scheduler=with_scheduler,
                                             logging_level="WARNING")


@prod_only
@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker])  # Worker forks, as in production
def test_inbound_sms_is_answered_end_to_end(client, runtime, fake_at, worker_class):
    assert post_sms(client, "HELP").status_code == 200
    # The web request stored the message and queued a job; nothing reached AT yet.
    assert fake_at.requests == [] and outbox(runtime) == []
    assert Queue(REPLIES, connection=runtime.redis).count == 1

    work(runtime, worker_class=worker_class)

    [message] = inbound(runtime)
    assert message.status == InboundStatus.HANDLED
    [reply] = outbox(runtime)
    assert (reply.status, reply.backend, reply.status_code, reply.attempts, reply.body) == (
        OutboxStatus.SENT, "at", 101, 1, HELP_EN)
    assert reply.at_message_id and reply.cost == "KES 0.8000"
    [request] = fake_at.requests
    assert (request.to, request.sender, request.message) == ([PHONE], "40014", HELP_EN)


@prod_only
def test_a_transient_failure_is_retried_by_the_scheduler(client, runtime, fake_at):
    fake_at.answer(PHONE, 500)
    post_sms(client, "HELP")
    work(runtime)
    [reply] = outbox(runtime)
    assert (reply.status, reply.attempts) == (OutboxStatus.QUEUED, 1)

    registry = Queue(REPLIES, connection=runtime.redis).scheduled_job_registry
    [job_id] = registry.get_job_ids()
    job = Job.fetch(job_id, connection=runtime.redis)
    due = registry.get_scheduled_time(job)
    assert (due - job.created_at.replace(tzinfo=UTC)).total_seconds() >= RETRY_DELAYS[0] - 1
    registry.schedule(job, datetime(2000, 1, 1, tzinfo=UTC))  # due now, without waiting
    work(runtime, with_scheduler=True)

    [reply] = outbox(runtime)
    assert (reply.status, reply.attempts, reply.status_code) == (OutboxStatus.SENT, 2, 101)
    assert len(fake_at.requests) == 2
    assert registry.get_job_ids() == []


@prod_only
def test_a_rerun_job_sends_nothing_twice(client, runtime, fake_at):
    post_sms(client, "HELP")
    [message] = inbound(runtime)
    runtime.dispatcher.handle_inbound_sms(message.id)  # the same job, queued twice
    work(runtime)
    [reply] = outbox(runtime)
    runtime.dispatcher.send_sms([reply.id], SendLane.REPLY)  # and the send, again
    work(runtime)
    assert len(fake_at.requests) == 1
    assert [r.status for r in outbox(runtime)] == [OutboxStatus.SENT]


@prod_only
def test_replies_go_before_notices_and_campaigns(runtime):
    for name in (CAMPAIGNS, NOTICES, REPLIES):
        Queue(name, connection=runtime.redis).enqueue("tests.test_worker.note", name)
    worker = build_worker(runtime, SimpleWorker)
    assert worker.queue_names() == list(QUEUES) == [REPLIES, NOTICES, CAMPAIGNS]
    worker.work(burst=True, logging_level="WARNING")
    assert [job.args[0] for job in _finished(runtime)] == [REPLIES, NOTICES, CAMPAIGNS]


def note(name: str) -> str:
    return name


def _finished(runtime) -> list[Job]:
    jobs = []
    for name in QUEUES:
        queue = Queue(name, connection=runtime.redis)
        jobs += [Job.fetch(i, connection=runtime.redis)
                 for i in queue.finished_job_registry.get_job_ids()]
    return sorted(jobs, key=lambda job: job.ended_at)


def test_job_functions_do_not_import_flask():
    code = "import sys, workers.jobs, workers.__main__; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_the_worker_imports_the_job_functions_before_it_forks():
    """rq imports a job's function in the work horse: unless the worker process already holds
    it, every job (a one-SMS reply too) imports the job functions and what they use again."""
    code = "import sys, workers.__main__; print('workers.jobs' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "True"
