"""The cron relay hands on inbound SMS whose job Redis lost, not only at a worker's start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue

from app.db.base import utcnow
from app.db.models import InboundStatus
from app.services.dispatch import NOTICES, REPLIES
from tests.factories import add_counties
from tests.sms_support import inbound, outbox, post_sms, run_jobs


@pytest.mark.parametrize("stack", ["prod"])  # the job exists only with Redis
def test_the_relay_job_answers_a_stored_sms_whose_job_was_lost(runtime, client):
    add_counties(runtime)
    assert post_sms(client, "HELP", at_id="ATXid_lost").status_code == 200
    Queue(REPLIES, connection=runtime.redis).empty()  # Redis lost the job
    [stored] = inbound(runtime)
    assert stored.status == InboundStatus.RECEIVED
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    Queue(NOTICES, connection=runtime.redis).enqueue("workers.jobs.relay_outbox", later)
    run_jobs(runtime)
    [answered] = inbound(runtime)
    assert answered.status != InboundStatus.RECEIVED
    assert len(outbox(runtime)) == 1  # the HELP reply, once
