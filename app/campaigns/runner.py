"""Background work of a campaign: rq jobs on the campaigns queue, or this process without Redis.

Jobs are named by import path and carry only the campaign id; the database says what is left.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from redis import Redis
from rq import Queue
from rq import Retry as RqRetry

from app.campaigns.materialise import advance, lost_work, materialise
from app.db.base import utcnow
from app.services.dispatch import CAMPAIGNS, run_later

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

MATERIALISE_JOB = "workers.jobs.materialise_campaign"
ADVANCE_JOB = "workers.jobs.advance_campaign"
MATERIALISE_TIMEOUT = 3600  # 100,000 rows in chunks: minutes, not hours
ADVANCE_TIMEOUT = 120
RETRY = (3, [10, 60, 300])  # both jobs are safe to repeat


class CampaignJobs(Protocol):
    def materialise(self, campaign_id: int) -> None: ...

    def advance(self, campaign_id: int, delay: int = 0) -> None: ...


class RqCampaignJobs:
    def __init__(self, redis: Redis) -> None:
        self.queue = Queue(CAMPAIGNS, connection=redis)

    def materialise(self, campaign_id: int) -> None:
        self.queue.enqueue(MATERIALISE_JOB, campaign_id, job_timeout=MATERIALISE_TIMEOUT,
                           retry=RqRetry(max=RETRY[0], interval=RETRY[1]))

    def advance(self, campaign_id: int, delay: int = 0) -> None:
        options = {"job_timeout": ADVANCE_TIMEOUT,
                   "retry": RqRetry(max=RETRY[0], interval=RETRY[1])}
        if delay:
            self.queue.enqueue_in(timedelta(seconds=delay), ADVANCE_JOB, campaign_id, **options)
        else:  # behind the sends of the wave just handed over
            self.queue.enqueue(ADVANCE_JOB, campaign_id, **options)


class InlineCampaignJobs:
    """No Redis (development): the same steps in this process, later ones on a timer."""

    def __init__(self, runtime: Runtime, schedule=run_later) -> None:
        self.runtime = runtime
        self.schedule = schedule

    def materialise(self, campaign_id: int) -> None:
        run_materialise(self.runtime, self, campaign_id)

    def advance(self, campaign_id: int, delay: int = 0) -> None:
        if delay:
            self.schedule(delay, lambda: self.advance(campaign_id))
            return
        while True:
            wait = advance_once(self.runtime, campaign_id)
            if wait is None:
                return
            if wait:
                self.schedule(wait, lambda: self.advance(campaign_id))
                return


def campaign_jobs(runtime: Runtime) -> CampaignJobs:
    return RqCampaignJobs(runtime.redis) if runtime.redis is not None \
        else InlineCampaignJobs(runtime)


def run_materialise(runtime: Runtime, jobs: CampaignJobs, campaign_id: int) -> int:
    """Write the recipients, then start handing them to the sender."""
    added = materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for,
                        runtime.settings.campaign_chunk_size)
    jobs.advance(campaign_id)
    return added


def advance_once(runtime: Runtime, campaign_id: int) -> int | None:
    settings = runtime.settings
    return advance(runtime.sessions, runtime.dispatcher, campaign_id, utcnow(),
                   settings.campaign_hours, wave=settings.sms_batch_size * 10)


def run_advance(runtime: Runtime, jobs: CampaignJobs, campaign_id: int) -> None:
    """One wave, then the next step queued (at once, later, or not at all)."""
    wait = advance_once(runtime, campaign_id)
    if wait is not None:
        jobs.advance(campaign_id, wait)


def start_work(jobs: CampaignJobs, campaign_id: int, status: str, materialised: bool) -> None:
    """After a committed approve or resume: queue what the campaign needs next."""
    if not materialised and status in {"approved", "paused"}:
        if status == "approved":
            jobs.materialise(campaign_id)
    elif status in {"sending", "scheduled"}:
        jobs.advance(campaign_id)


def sweep(runtime: Runtime, jobs: CampaignJobs) -> tuple[int, int]:
    """Queue again the steps of campaigns whose job was lost; safe to run any number of times.
    Returns how many campaigns were materialised and advanced again."""
    to_materialise, to_advance = lost_work(runtime.sessions, utcnow())
    for campaign_id in to_materialise:
        jobs.materialise(campaign_id)
    for campaign_id in to_advance:
        jobs.advance(campaign_id)
    if to_materialise or to_advance:
        log.warning("campaign sweep: %d materialise and %d advance steps queued again",
                    len(to_materialise), len(to_advance))
    return len(to_materialise), len(to_advance)
