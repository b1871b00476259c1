"""A 100,000-recipient campaign sent by a real rq worker to a local AT-compatible server.

PostgreSQL, Redis and tests/fake_at.py (the same local AT for both sides), all started here.
Prints three figures, each against something measured in this run (no absolute limits):

(a) throughput: recipients per second of `python -m workers --burst` (read, claim each batch, the AT
    call through app.channels.at_sms, record, one send job per wave, forking a work horse per job
    as production does), timed from the first claim to the last acceptance in the database,
    against a bare loop posting the same batches (same size, same adapter) to the same server
    with no database and no queue. Target >= 0.70.
(b) memory: the sending worker's peak RSS (the worker and its work horses: RUSAGE_CHILDREN of
    a process that only waits for it) for N/10 recipients and for N. Target ~1. The
    materialise job's peak is printed beside it: it runs first, in a process of its own here,
    so that (b) is the sending alone.
(c) approve: seconds for approve() and its commit plus queueing the materialise job, as the
    console and the CLI do, on an N-recipient campaign. Target < 2 s.

Under (a), the sender alone: the same sender (app.services.sms_sender) sending N/10 written
rows in this process in one call, as a send job does, with no rq, waves or work horses around
it (sharing this process with the local AT, as the bare loop does), against the same bare
loop: what the per-message writes cost before the queue adds its own. Beside it the floor
(bench/send_floor.py): only the two writes per batch that any sender keeping the outbox as its
record must commit, on a plain connection, for as many rows. Then CPU per batch of
each process while the worker sends (the worker's own start and stop, measured on empty
queues, taken off), against the bare loop's: the processes share the machine's cores, so
their sum bounds the throughput however well they overlap.

No rate limit (SMS_RATE_PER_SECOND=0) and no quiet hours, so only the pipeline is measured.
BENCH_CAMPAIGN_N (default 100000) makes a quicker run, e.g. BENCH_CAMPAIGN_N=20000.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rq import Queue
from sqlalchemy import func, insert, select

from app.campaigns import lifecycle
from app.campaigns.audience import Audience
from app.campaigns.materialise import materialise
from app.campaigns.runner import campaign_jobs, run_materialise, start_work, wave_size
from app.channels.at_sms import AtSmsBackend
from app.db import migrate
from app.db.base import utcnow
from app.db.models import Campaign, Contact, OutboxMessage, OutboxStatus, Role
from app.db.session import make_engine
from app.runtime import Runtime, build_runtime
from app.services import accounts
from app.services.dispatch import CAMPAIGNS
from app.services.organizations import create_organization
from app.settings import Settings, load_settings
from bench.send_floor import send_floor
from bench.timing import cpu_seconds
from tests.fake_at import FakeAt
from tests.servers import postgres_server, redis_server

N = int(os.environ.get("BENCH_CAMPAIGN_N", "100000"))
BATCH = 100
WAVE = wave_size(BATCH, 0)  # recipients per send job
MESSAGE = {"en": "Budget forum at Wote on Monday 10am. {org}"}  # one body: full batches


@dataclass(frozen=True)
class Run:
    recipients: int
    approve_seconds: float
    send_seconds: float  # first claim to last acceptance
    peak_rss_kb: int
    materialise_rss_kb: int
    waves: int = 0
    in_waves_seconds: float = 0.0  # summed from each wave's claim to its last acceptance
    worker_cpu: float = 0.0  # seconds: the worker and its work horses, the whole run
    postgres_cpu: float = 0.0  # seconds, while the worker ran
    at_cpu: float = 0.0  # seconds of this process (the local AT) while the worker ran

    @property
    def per_second(self) -> float:
        return self.recipients / self.send_seconds


def main() -> None:
    print(f"Campaign send: {N:,} recipients, batches of {BATCH}, one rq worker, PostgreSQL, "
          "Redis, a local AT-compatible server")
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp, \
            postgres_server(Path(tmp) / "pg") as pg_url, \
            redis_server(Path(tmp) / "redis") as redis_url, FakeAt() as at:
        engine = make_engine(pg_url)
        migrate.upgrade(engine)
        engine.dispose()
        settings = Settings(database_url=pg_url, redis_url=redis_url,
                            at_username=at.username, at_api_key=at.api_key, at_api_url=at.url,
                            sms_batch_size=BATCH, sms_rate_per_second=0,
                            campaign_hours="00:00-00:00")
        runtime = build_runtime(settings)
        postgres = int((Path(tmp) / "pg" / "pgdata" / "postmaster.pid").read_text().split()[0])
        try:
            _, idle_worker_cpu = watched(settings, "--watch-worker")  # starts, finds no work
            small = run_campaign(runtime, at, max(1, N // 10), "small", postgres)
            bare_before, bare_cpu_before = bare_loop(at, N)
            alone = max(1, N // 10), sender_alone(runtime, max(1, N // 10))
            floor = max(1, N // 10), floor_alone(runtime, at, max(1, N // 10), "floor")
            overlapped = max(1, N // 10), floor_alone(runtime, at, max(1, N // 10), "over",
                                                      overlapped=True)
            big = run_campaign(runtime, at, N, "big", postgres)
            bare_after, bare_cpu_after = bare_loop(at, N)
        finally:
            runtime.close()
    bare = 2 * N / (bare_before + bare_after)  # recipients per second, mean of both loops
    batches = N / BATCH
    print(f"(a) throughput: worker {big.per_second:,.0f}/s ({big.send_seconds:.1f} s), bare "
          f"loop {bare:,.0f}/s ({bare_before:.1f} s, {bare_after:.1f} s): "
          f"ratio {big.per_second / bare:.2f} (target >= 0.70); {big.waves} send jobs, "
          f"{big.in_waves_seconds:.1f} s inside them, the rest between them")
    # The same sender with the queue taken away: what the per-message writes cost on their own.
    alone_rate = alone[0] / alone[1]
    print(f"    the sender alone, in one process (read, claim, the AT call, record; no rq, "
          f"no waves, no work horse): {alone_rate:,.0f}/s for {alone[0]:,}: "
          f"ratio {alone_rate / bare:.2f} to the bare loop")
    # What any sender that keeps the outbox as its record must write: PostgreSQL's share.
    floor_rate = floor[0] / floor[1]
    print(f"    the floor, in one process (bench/send_floor.py: per batch, the claim and AT's "
          f"answers, two committed statements on a plain connection, nothing else): "
          f"{floor_rate:,.0f}/s for {floor[0]:,}: ratio {floor_rate / bare:.2f} to the bare "
          f"loop; the sender alone is {alone_rate / floor_rate:.2f} of it")
    over_rate = overlapped[0] / overlapped[1]
    print(f"    the floor with each record overlapped with the next call (a second connection, "
          f"in a thread): {over_rate:,.0f}/s: ratio {over_rate / bare:.2f} to the bare loop")
    # Where the time goes: on a machine with few cores the pipeline's processes share them,
    # so CPU per batch, summed, bounds the throughput whatever the overlap.
    worker, postgres_ms, at_ms = (1e3 * cpu / batches for cpu in (
        big.worker_cpu - idle_worker_cpu, big.postgres_cpu, big.at_cpu))
    bare_ms = 1e3 * (bare_cpu_before + bare_cpu_after) / (2 * batches)
    print(f"    CPU per batch of {BATCH}: worker {worker:.1f} (less {idle_worker_cpu:.1f} s to "
          f"start and stop) + PostgreSQL {postgres_ms:.1f} + local AT {at_ms:.1f} = "
          f"{worker + postgres_ms + at_ms:.1f} ms; bare loop and local AT {bare_ms:.1f} ms "
          f"({os.cpu_count()} CPUs)")
    print(f"(b) worker peak RSS: {small.peak_rss_kb / 1024:.0f} MB at {small.recipients:,}, "
          f"{big.peak_rss_kb / 1024:.0f} MB at {big.recipients:,}: "
          f"ratio {big.peak_rss_kb / small.peak_rss_kb:.2f} (target ~1); the materialise "
          f"job: {small.materialise_rss_kb / 1024:.0f} MB and "
          f"{big.materialise_rss_kb / 1024:.0f} MB")
    print(f"(c) approve: {big.approve_seconds:.3f} s for {big.recipients:,} recipients "
          f"({small.approve_seconds:.3f} s for {small.recipients:,}; target < 2 s)")


def run_campaign(runtime: Runtime, at: FakeAt, count: int, code: str, postgres: int) -> Run:
    """Contacts, a draft, approve (timed), then a worker sends it all (timed from the DB).
    `postgres` is the postmaster's pid, for the CPU PostgreSQL spends on the sending."""
    campaign_id, approver = draft(runtime, count, code)
    started = time.perf_counter()
    with runtime.sessions.begin() as db:
        campaign = db.get(Campaign, campaign_id)
        lifecycle.approve(db, campaign, accounts.user_by_email(db, approver))
        status, materialised = str(campaign.status), campaign.materialised
    start_work(campaign_jobs(runtime), campaign_id, status, materialised)
    approve_seconds = time.perf_counter() - started
    # The materialise job runs here, watched, to measure it alone; the copy approve queued
    # comes off the queue, or the worker would run it again and start a second chain of waves.
    Queue(CAMPAIGNS, connection=runtime.redis).empty()
    materialise_peak, _ = watched(runtime.settings, "--watch-materialise", str(campaign_id))
    postgres_before, here_before = cpu_seconds([postgres]), time.process_time()
    peak, worker_cpu = watched(runtime.settings, "--watch-worker")
    postgres_cpu = cpu_seconds([postgres]) - postgres_before
    at_cpu = time.process_time() - here_before  # this process only serves AT meanwhile
    with runtime.sessions() as db:
        rows = OutboxMessage.campaign_id == campaign_id
        first, last, sent = db.execute(select(
            func.min(OutboxMessage.claimed_at), func.max(OutboxMessage.sent_at),
            func.count().filter(OutboxMessage.status == OutboxStatus.SENT)).where(rows)).one()
        done = db.get(Campaign, campaign_id).status
        # A wave is WAVE consecutive rows (no rate limit): its first claim to its last sent.
        wave = ((func.row_number().over(order_by=OutboxMessage.id) - 1) // WAVE).label("wave")
        ranked = select(OutboxMessage.claimed_at, OutboxMessage.sent_at, wave).where(
            rows).subquery()
        waves = db.execute(select(func.min(ranked.c.claimed_at), func.max(ranked.c.sent_at))
                           .group_by(ranked.c.wave).order_by(ranked.c.wave)).all()
    if sent != count or done != "completed":
        raise SystemExit(f"campaign {code}: {sent} of {count} sent, status {done}")
    # A wave's claim to its last acceptance is the send job's own work; the rest is between
    # jobs (the advance step, rq, forking a work horse).
    in_waves = sum((end - start).total_seconds() for start, end in waves)
    return Run(count, approve_seconds, (last - first).total_seconds(), peak, materialise_peak,
               len(waves), in_waves, worker_cpu, postgres_cpu, at_cpu)


def sender_alone(runtime: Runtime, count: int) -> float:
    """Seconds for the sender (app.services.sms_sender) to send a written `count`-recipient
    campaign in this process, in one call, as a send job does, without rq around it."""
    ids, _ = written(runtime, count, "alone")
    started = time.perf_counter()
    report = runtime.sms_sender.send(ids)
    seconds = time.perf_counter() - started
    if report.sent != count:
        raise SystemExit(f"the sender alone sent {report.sent} of {count}")
    return seconds


def floor_alone(runtime: Runtime, at: FakeAt, count: int, code: str,
                overlapped: bool = False) -> float:
    """Seconds for bench/send_floor.py to send a written `count`-recipient campaign."""
    ids, body = written(runtime, count, code)
    backend = AtSmsBackend.connect(at.username, at.api_key, at.url)
    seconds = send_floor(runtime.db, backend, "40014", body, ids, BATCH, overlapped)
    with runtime.sessions() as db:
        sent = db.scalar(select(func.count()).where(OutboxMessage.id.in_(ids),
                                                    OutboxMessage.status == OutboxStatus.SENT))
    if sent != count:
        raise SystemExit(f"the floor sent {sent} of {count}")
    return seconds


def written(runtime: Runtime, count: int, code: str) -> tuple[list[int], str]:
    """A `count`-recipient campaign approved and materialised in this process (no job queued):
    its outbox ids, and their body (one for all)."""
    campaign_id, approver = draft(runtime, count, code)
    with runtime.sessions.begin() as db:
        lifecycle.approve(db, db.get(Campaign, campaign_id), accounts.user_by_email(db, approver))
    materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for)
    with runtime.sessions() as db:
        rows = db.execute(select(OutboxMessage.id, OutboxMessage.body)
                          .where(OutboxMessage.campaign_id == campaign_id)
                          .order_by(OutboxMessage.id)).all()
    return [row_id for row_id, _ in rows], rows[0].body


def draft(runtime: Runtime, count: int, code: str) -> tuple[int, str]:
    """An organization with `count` contacts and a draft campaign to all of them."""
    officer, approver = f"officer@{code}.example", f"approver@{code}.example"
    with runtime.sessions.begin() as db:
        org = create_organization(db, code=code, name=f"Bench {code}", country="KE",
                                  currency="KES", languages=["en"], sms_sender="40014")
        org.campaign_hours = "00:00-00:00"
        for email, role in ((officer, Role.OFFICER), (approver, Role.APPROVER)):
            accounts.create_user(db, email, email.split("@")[0], role, org.id, "x" * 12)
        now = utcnow()
        prefix = 254_700_000_000 if code == "big" else 254_790_000_000
        db.execute(insert(Contact), [
            {"organization_id": org.id, "msisdn": f"+{prefix + n}", "language": "en",
             "created_at": now} for n in range(count)])
        campaign = lifecycle.create(db, org, accounts.user_by_email(db, officer), "Forum",
                                    MESSAGE, Audience(everyone=True))
        return campaign.id, approver


def watched(settings: Settings, *args: str) -> tuple[int, float]:
    """Peak RSS (KB) and CPU seconds of `python -m bench.campaign_send ARGS` run with the
    settings' env."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "AT_USERNAME": settings.at_username, "AT_API_KEY": settings.at_api_key,
           "AT_API_URL": settings.at_api_url, "SMS_BATCH_SIZE": str(settings.sms_batch_size),
           "SMS_RATE_PER_SECOND": "0", "CAMPAIGN_HOURS": "00:00-00:00", "LOG_LEVEL": "WARNING"}
    watcher = subprocess.run([sys.executable, "-m", "bench.campaign_send", *args],
                             env=env, check=True, capture_output=True, text=True)
    peak, cpu = watcher.stdout.split()[-2:]
    return int(peak), float(cpu)


def watch(*command: str) -> None:
    """Run `command` to the end and only wait for it: this small process's RUSAGE_CHILDREN
    peak is the command's and its children's. (A process's own peak would not do: on Linux
    it starts from the RSS of the process it was forked from, here this bench's.) Prints
    that peak and their CPU seconds."""
    subprocess.run([sys.executable, *command], check=True, stdout=subprocess.DEVNULL)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(used.ru_maxrss, used.ru_utime + used.ru_stime)


def materialise_here(campaign_id: int) -> None:
    """The materialise job's work (it queues the first wave), in this process."""
    runtime = build_runtime(load_settings())
    run_materialise(runtime, campaign_jobs(runtime), campaign_id)
    runtime.close()


def bare_loop(at: FakeAt, count: int) -> tuple[float, float]:
    """Seconds to post `count` numbers in batches of BATCH to the same server, through the
    same adapter, with nothing else: the ceiling the worker is measured against. Also the CPU
    seconds this process used meanwhile (the loop and the local AT)."""
    backend = AtSmsBackend.connect(at.username, at.api_key, at.url)
    body = MESSAGE["en"].format(org="Bench big")
    numbers = [f"+{254_710_000_000 + n}" for n in range(count)]
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, count, BATCH):
        outcomes = backend.send("40014", body, numbers[start:start + BATCH])
        if len(outcomes) != len(numbers[start:start + BATCH]):
            raise SystemExit("the bare loop lost an answer")
    return time.perf_counter() - started, time.process_time() - cpu


if __name__ == "__main__":
    if sys.argv[1:] == ["--watch-worker"]:
        watch("-m", "workers", "--burst")
    elif sys.argv[1:2] == ["--watch-materialise"]:
        watch("-m", "bench.campaign_send", "--materialise", sys.argv[2])
    elif sys.argv[1:2] == ["--materialise"]:
        materialise_here(int(sys.argv[2]))
    else:
        main()
