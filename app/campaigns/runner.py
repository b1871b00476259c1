"""Background work of a campaign: rq jobs on the campaigns queue, or this process without Redis.

Jobs are named by import path and carry only the campaign id; the database says what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from redis import Redis
from rq import Queue
from rq import Retry as RqRetry
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.materialise import advance, lost_work, materialise
from app.campaigns.quiet_hours import Window, window_for
from app.db.base import utcnow
from app.db.models import Campaign, Organization, SendLane
from app.services.dispatch import CAMPAIGNS, JOB_RETRY, SEND_JOB, Dispatcher, run_later

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

MATERIALISE_JOB = "workers.jobs.materialise_campaign"
ADVANCE_JOB = "workers.jobs.advance_campaign"
MATERIALISE_TIMEOUT = 3600  # 100,000 rows in chunks: minutes, not hours
ADVANCE_TIMEOUT = 120
RETRY = (3, [10, 60, 300])  # both jobs are safe to repeat
# A wave is one send job: at most WAVE_BATCHES AT requests, and no more than the rate limit
# lets out in WAVE_SECONDS, so a worker is back to the replies queue within ~10 s (and a pause
# takes effect at the next wave). Fewer, larger jobs: a worker forks, connects and books a
# job once per wave, and the next wave's step runs once per wave too.
WAVE_BATCHES = 50
WAVE_SECONDS = 10
# Killing a send job mid-call would leave rows uncertain, so it is generous; the relay's
# verdict on stale calls stays safe for a long job (a row is CALLING only during its call).
WAVE_TIMEOUT = 900


class CampaignJobs(Protocol):
    def materialise(self, campaign_id: int) -> None: ...

    def advance(self, campaign_id: int, delay: int = 0, chain: int | None = None) -> None: ...


class RqCampaignJobs:
    def __init__(self, redis: Redis) -> None:
        self.queue = Queue(CAMPAIGNS, connection=redis)

    def materialise(self, campaign_id: int) -> None:
        self.queue.enqueue(MATERIALISE_JOB, campaign_id, job_timeout=MATERIALISE_TIMEOUT,
                           retry=RqRetry(max=RETRY[0], interval=RETRY[1]))

    def advance(self, campaign_id: int, delay: int = 0, chain: int | None = None) -> None:
        options = {"job_timeout": ADVANCE_TIMEOUT,
                   "retry": RqRetry(max=RETRY[0], interval=RETRY[1])}
        if delay:
            self.queue.enqueue_in(timedelta(seconds=delay), ADVANCE_JOB, campaign_id, chain,
                                  **options)
        else:  # behind the sends of the wave just handed over
            self.queue.enqueue(ADVANCE_JOB, campaign_id, chain, **options)


class InlineCampaignJobs:
    """No Redis (development): the same steps in this process, later ones on a timer."""

    def __init__(self, runtime: Runtime, schedule=run_later) -> None:
        self.runtime = runtime
        self.schedule = schedule

    def materialise(self, campaign_id: int) -> None:
        run_materialise(self.runtime, self, campaign_id)

    def advance(self, campaign_id: int, delay: int = 0, chain: int | None = None) -> None:
        if delay:
            self.schedule(delay, lambda: self.advance(campaign_id, chain=chain))
            return
        if chain is None:
            chain = start_chain(self.runtime.sessions, campaign_id)
        while True:
            wait = advance_once(self.runtime, campaign_id, chain)
            if wait is None:
                return
            if wait:
                self.advance(campaign_id, wait, chain)
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


class WaveDispatcher:
    """The campaign lane with Redis: one send job per wave (see WAVE_BATCHES) rather than one
    per batch. Other lanes and delayed retries go as usual."""

    def __init__(self, dispatcher: Dispatcher, redis: Redis) -> None:
        self.dispatcher = dispatcher
        self.queue = Queue(CAMPAIGNS, connection=redis)

    def handle_inbound_sms(self, inbound_id: int) -> None:
        self.dispatcher.handle_inbound_sms(inbound_id)

    def send_sms(self, outbox_ids: Sequence[int], lane: SendLane, delay: int = 0) -> None:
        if lane != SendLane.CAMPAIGN or delay:
            self.dispatcher.send_sms(outbox_ids, lane, delay)
            return
        attempts, intervals = JOB_RETRY
        self.queue.enqueue(SEND_JOB, list(outbox_ids), job_timeout=WAVE_TIMEOUT,
                           retry=RqRetry(max=attempts, interval=intervals))


def wave_dispatcher(runtime: Runtime) -> Dispatcher:
    if runtime.redis is None:
        return runtime.dispatcher  # in process, a wave is one call already
    return WaveDispatcher(runtime.dispatcher, runtime.redis)


def advance_once(runtime: Runtime, campaign_id: int, chain: int | None = None) -> int | None:
    settings = runtime.settings
    return advance(runtime.sessions, wave_dispatcher(runtime), campaign_id, utcnow(),
                   sending_window(runtime.sessions, campaign_id, settings.campaign_hours),
                   wave=wave_size(settings.sms_batch_size, settings.sms_rate_per_second),
                   chain=chain)


def wave_size(batch_size: int, per_second: int) -> int:
    """Recipients per wave: WAVE_BATCHES batches, or what the rate limit sends in
    WAVE_SECONDS (whole batches, at least one)."""
    size = batch_size * WAVE_BATCHES
    if per_second > 0:
        size = min(size, max(1, per_second * WAVE_SECONDS // batch_size) * batch_size)
    return size


def sending_window(sessions: sessionmaker[Session], campaign_id: int, default: str) -> Window:
    """The campaign's organization's own hours, or the CAMPAIGN_HOURS setting."""
    with sessions() as db:
        own = db.scalar(select(Organization.campaign_hours)
                        .join(Campaign, Campaign.organization_id == Organization.id)
                        .where(Campaign.id == campaign_id))
    return window_for(own, default)


def start_chain(sessions: sessionmaker[Session], campaign_id: int) -> int:
    """Begin a new chain of advance jobs for the campaign and return its number: the next job
    of any older chain finds its number stale and ends (app.campaigns.materialise.advance)."""
    c = Campaign.__table__.c
    with sessions.begin() as db:
        return db.execute(update(Campaign.__table__).where(c.id == campaign_id)
                          .values(chain=c.chain + 1).returning(c.chain)).scalar() or 0


def run_advance(runtime: Runtime, jobs: CampaignJobs, campaign_id: int,
                chain: int | None = None) -> None:
    """One wave, then the next step queued (at once, later, or not at all), in the same
    chain. A job queued without one (approve, resume, the sweep, materialise) starts a chain;
    an older chain's next job then ends, so a campaign's waves never run two chains at once.
    A retried job keeps its chain and carries on."""
    if chain is None:
        chain = start_chain(runtime.sessions, campaign_id)
    wait = advance_once(runtime, campaign_id, chain)
    if wait is not None:
        jobs.advance(campaign_id, wait, chain)


def start_work(jobs: CampaignJobs, campaign_id: int, status: str, materialised: bool) -> None:
    """After a committed approve or resume: queue what the campaign needs next."""
    if not materialised and status in {"approved", "paused"}:
        if status == "approved":
            jobs.materialise(campaign_id)
    elif status in {"sending", "scheduled"}:
        jobs.advance(campaign_id)


def sweep(runtime: Runtime, jobs: CampaignJobs,
          now: datetime | None = None) -> tuple[int, int]:
    """Queue again the steps of campaigns whose job was lost; safe to run any number of times.
    Returns how many campaigns were materialised and advanced again."""
    to_materialise, to_advance = lost_work(runtime.sessions, now or utcnow())
    for campaign_id in to_materialise:
        jobs.materialise(campaign_id)
    for campaign_id in to_advance:
        jobs.advance(campaign_id)
    if to_materialise or to_advance:
        log.warning("campaign sweep: %d materialise and %d advance steps queued again",
                    len(to_materialise), len(to_advance))
    return len(to_materialise), len(to_advance)
