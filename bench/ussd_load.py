"""USSD under load: complete voting sessions against gunicorn + PostgreSQL + Redis (issue 7).

The stack is production's: `gunicorn wsgi:app` with BARAZA_ENV=production (secrets, JSON logs,
Prometheus multiprocess counters), a real PostgreSQL and Redis started for the run
(tests/servers.py), migrated, with one organization, one ward and a budget vote open with
three proposals. A load generator in separate processes (bench/load_generator.py) starts
first-time voting sessions at a fixed rate, each exactly what AT sends: dial, English, Vote,
the ward, Yes, two proposals, Done, Confirm, No to the questions (10 hops, `text` growing).

First the ceiling: the same gunicorn settings serving bench/static_ceiling.py (Flask reading
AT's form and answering a fixed `CON`), driven by the same sessions. For each server the rate
is raised in steps until it stops keeping up (an error, sessions taking longer and longer
through a step, or sessions four times as long as alone: see GROWTH); the last rate that kept
up is its saturation. Then the session floor, the same again with the session read from and
written to Redis through Baraza's own store (bench/session_floor.py): what any hop that keeps
state between hops costs, before the flow engine and the database. Then Baraza, and Baraza
again at half its saturation rate. CPU used by gunicorn,
PostgreSQL and Redis is counted per hop (/proc): on a shared machine that ratio moves less
than throughput does. At the end every receipt a session was shown must match a stored ballot.
PostgreSQL runs as tests/servers.py starts it, with fsync off (throwaway data): a disk's commit
latency is not in these figures.

BENCH_LOAD_SECONDS (default 3) is the length of one step; the whole benchmark takes about
35 of them. BENCH_GUNICORN_WORKERS / _THREADS and BENCH_LOAD_PROCESSES change the set-up.
"""

from __future__ import annotations

import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.channels.phone import normalise_msisdn
from app.db import migrate
from app.db.models import Ballot, Phase, ProposalStatus
from app.db.session import make_engine
from app.pb import cycles, proposals
from app.runtime import Runtime, build_runtime
from app.services import places
from app.services.organizations import create_organization
from app.settings import ROOT, Settings
from bench.load_generator import Generators, Outcome, Plan
from bench.timing import cpu_seconds
from tests.servers import PostgresServer, RedisServer, free_port, missing_server_programs

SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS") or 3)
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS") or 2)
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS") or 4)
GENERATORS = int(os.environ.get("BENCH_LOAD_PROCESSES") or 1)
GUNICORN = ["--worker-class", "gthread", "--workers", str(WORKERS), "--threads", str(THREADS),
            "--keep-alive", "5", "--backlog", "2048", "--log-level", "warning"]

SERVICE_CODE = "*483*9#"
WARD = {"county_code": "0417", "county_name": "Makueni", "constituency_code": "041701",
        "constituency_name": "Kibwezi West", "ward_code": "04170101", "ward_name": "Makindu"}
PROPOSALS = (("Borehole at the market", 1_800_000), ("Maternity ward beds", 1_200_000),
             ("Footbridge over the river", 900_000))
# English, Vote on the budget, the ward, Yes, proposals 1 and 2, Done, Confirm, No questions.
KEYS = ("1", "1", "1", "1", "1", "2", "99", "1", "2")
HOPS = len(KEYS) + 1
# What each hop answers, for the latency of each (the reply to the dial is the language menu).
SCREENS = ("language", "menu", "wards", "ward?", "ballot", "pick 1", "pick 2", "summary",
           "confirm", "thanks")
THANKS = "END Thank you. Your vote is recorded. Receipt: "
FIRST_PHONE = 254_710_000_000  # +254 710 000 000 onwards: Safaricom numbers, one per session

# Kept up: no error; session times grow by at most GROWTH seconds per second of the step (the
# Theil-Sen slope of session time over start time: a server short of 10% of the work offered
# makes each later caller wait ~0.1 s longer per second, while one slow moment on a shared
# machine barely moves a median of slopes); and the median session takes at most LOADED times
# as long as one alone on the server (past that, waiting is most of what a caller sees).
GROWTH, LOADED = 0.1, 4.0
MIN_SESSIONS = 10  # per step, so that a slope means something at low rates
STEP_UP = 1.3  # rate factor while searching; one bisection follows the first miss
MAX_STEPS = 6
TIMEOUT = 5.0  # seconds: AT gives up on an answer after a few
TARGET_RATIO, TARGET_P99 = 0.5, 0.100
LOWER = {"static": "static CON", "floor": "session floor: a fixed CON, the session in Redis"}


class BenchError(RuntimeError):
    """The stack could not be set up."""


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    path: str
    final_prefix: str
    pids: tuple[int, ...]  # gunicorn's master, PostgreSQL's postmaster, Redis: CPU is counted


@dataclass(frozen=True)
class Step:
    rate: float  # sessions per second offered
    seconds: float
    start_at: float  # time.time() the first session was due
    alone: float  # median session time with one session at a time
    outcome: Outcome
    server_cpu: float  # CPU seconds of gunicorn, PostgreSQL and Redis during the step
    generator_cpu: float
    server_parts: tuple[float, ...] = ()  # server_cpu by Target.pids: gunicorn, PostgreSQL, Redis

    @property
    def offered(self) -> float:
        return self.rate * HOPS

    @property
    def errors(self) -> int:
        return sum(self.outcome.errors.values())

    def growth(self) -> float:
        """Theil-Sen slope of session time (due to END) over due time: seconds per second."""
        points = sorted((index / self.rate, d) for index, d in self.outcome.durations)
        slopes = [(d2 - d1) / (t2 - t1) for i, (t1, d1) in enumerate(points)
                  for t2, d2 in points[i + 1:] if t2 > t1]
        return statistics.median(slopes) if slopes else float("nan")

    def typical(self) -> float:
        """Median session time."""
        durations = [d for _, d in self.outcome.durations]
        return statistics.median(durations) if durations else float("nan")

    @property
    def kept_up(self) -> bool:
        """See GROWTH: a server that falls behind makes every later session wait longer."""
        if self.errors or self.outcome.sessions_done < self.outcome.sessions_started:
            return False
        return self.growth() <= GROWTH and self.typical() <= LOADED * self.alone

    def throughput(self) -> tuple[float, float]:
        """(sessions, hops) answered per second, from the first due start to the last answer."""
        span = self.outcome.last_answered - self.start_at
        return self.outcome.sessions_done / span, self.outcome.hops / span

    def cpu_per_hop(self) -> tuple[float, float]:
        """(server, generator) CPU seconds per answered hop."""
        hops = max(1, self.outcome.hops)
        return self.server_cpu / hops, self.generator_cpu / hops

    def percentile(self, p: int) -> float:
        latencies = self.outcome.latencies
        if len(latencies) < 2:
            return float("nan")
        return statistics.quantiles(latencies, n=100, method="inclusive")[p - 1]

    def line(self) -> str:
        errors = ", ".join(f"{n} {kind}" for kind, n in sorted(self.outcome.errors.items()))
        server, generator = self.cpu_per_hop()
        return (f"{self.rate:7.1f} sessions/s ({self.offered:5.0f} hops/s): session"
                f" {self.typical() * 1e3:5.0f} ms, growing {self.growth():+.2f} s/s, hop p50"
                f" {self.percentile(50) * 1e3:5.1f} ms p99 {self.percentile(99) * 1e3:6.1f} ms,"
                f" CPU/hop {server * 1e3:.2f} + {generator * 1e3:.2f} ms,"
                f" errors {errors or 0}: {'kept up' if self.kept_up else 'behind'}")


class Driver:
    """Runs plans against one target, handing every session a phone number never used before."""

    def __init__(self, generators: Generators) -> None:
        self.generators = generators
        self.next_index = 0
        self.receipts: list[str] = []

    def plan(self, target: Target, **timing: object) -> Plan:
        return Plan(port=target.port, path=target.path, service_code=SERVICE_CODE, keys=KEYS,
                    final_prefix=target.final_prefix, first_index=self.next_index,
                    first_phone=FIRST_PHONE, session_prefix=f"ATUid_{target.name}",
                    timeout=TIMEOUT, **timing)

    def run(self, plan: Plan, target: Target) -> Outcome:
        outcome = self.generators.run(plan)
        self.next_index = max(outcome.indices_end, self.next_index + plan.sessions)
        if target.final_prefix == THANKS:
            self.receipts.extend(outcome.receipts)
        return outcome

    def open_loop(self, target: Target, rate: float, seconds: float, alone: float) -> Step:
        start = time.time() + 0.2  # every process is ready by then
        sessions = max(MIN_SESSIONS, round(rate * seconds))
        plan = self.plan(target, rate=rate, sessions=sessions, start_at=start)
        generators = [p.pid for p in self.generators.processes]
        before, generator = [cpu_seconds([pid]) for pid in target.pids], cpu_seconds(generators)
        outcome = self.run(plan, target)
        parts = [cpu_seconds([pid]) - used for pid, used in zip(target.pids, before, strict=True)]
        return Step(rate, sessions / rate, start, alone, outcome, sum(parts),
                    cpu_seconds(generators) - generator, tuple(parts))

    def closed_loop(self, target: Target, seconds: float, concurrency: int) -> Outcome:
        """Each of `concurrency` callers (per generator) starts a session as the last ends."""
        start = time.time() + 0.2
        plan = self.plan(target, concurrency=concurrency, seconds=seconds, start_at=start,
                         window=(start, start + seconds))
        return self.run(plan, target)


def saturation(driver: Driver, target: Target) -> list[Step]:
    """Steps up (or down) from a closed-loop guess until one misses, then one bisection."""
    busy = max(1, 2 * WORKERS * THREADS // GENERATORS)
    driver.closed_loop(target, 1.0, busy)  # warm up: imports, pools, catalogs in every worker
    alone = statistics.median([d for _, d in driver.closed_loop(target, 2.0, 1).durations]
                              or [TIMEOUT])
    rate = max(0.5, 0.7 * driver.closed_loop(target, 1.5, busy).hops_in_window / 1.5 / HOPS)
    print(f"    one session at a time: {alone * 1e3:.0f} ms", flush=True)
    steps: list[Step] = []
    while len(steps) < MAX_STEPS:
        steps.append(driver.open_loop(target, rate, SECONDS, alone))
        print(f"    {steps[-1].line()}", flush=True)
        kept = [s.rate for s in steps if s.kept_up]
        if not kept:
            rate /= STEP_UP
            continue
        above = [s.rate for s in steps if not s.kept_up and s.rate > max(kept)]
        if not above:
            rate = max(kept) * STEP_UP
            continue
        if min(above) / max(kept) < 1.15:
            break
        rate = (max(kept) * min(above)) ** 0.5
    return steps


def best(steps: list[Step]) -> Step | None:
    kept = [s for s in steps if s.kept_up]
    return max(kept, key=lambda s: s.rate) if kept else None


def seed(runtime: Runtime) -> int:
    """One organization, one ward, a budget vote open with three proposals: the cycle's id."""
    with runtime.sessions.begin() as db:
        org = create_organization(db, code="bench", name="Bench County", country="KE",
                                  currency="KES", languages=["en", "sw"],
                                  ussd_codes=[SERVICE_CODE])
        places.import_kenya_wards(db, org.id, [WARD], WARD["county_name"])
        county = places.place_by_code(db, org.id, WARD["county_code"], kind="county")
        cycle = cycles.create_cycle(db, organization_id=org.id, name="Bench budget",
                                    round_name="bench", place=county, budget=5_000_000,
                                    ballot_type="approval")
        for title, cost in PROPOSALS:
            proposals.add_proposal(db, cycle, title=title, cost=cost,
                                   status=ProposalStatus.ACCEPTED)
        cycles.move(cycle, Phase.VOTING)
        return cycle.id


def production_env(database_url: str, redis_url: str, token: str, ballot_key: str,
                   metrics_dir: Path) -> dict[str, str]:
    """What `BARAZA_ENV=production` insists on; AT's API points at a closed local port."""
    return dict(os.environ, BARAZA_ENV="production", DATABASE_URL=database_url,
                REDIS_URL=redis_url, SECRET_KEY=secrets.token_hex(32),
                BARAZA_CALLBACK_TOKEN=token, BARAZA_BALLOT_KEY=ballot_key,
                AT_USERNAME="sandbox", AT_API_KEY="bench-not-a-key",
                AT_API_URL="http://127.0.0.1:9", METRICS_TOKEN=secrets.token_hex(16),
                PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), BARAZA_SIMULATOR="0")


@contextmanager
def gunicorn(app: str, port: int, env: dict[str, str], log_path: Path, path: str
             ) -> Iterator[int]:
    """gunicorn serving `app` with the benchmark's settings, until the block ends: its pid."""
    args = [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{port}", app]
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(process, port, path, log_path)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(process: subprocess.Popen[bytes], port: int, path: str, log_path: Path) -> None:
    """Until a hop for a code nobody uses is answered (no session is stored for it)."""
    probe = b"sessionId=probe&serviceCode=%2A0%23&phoneNumber=%2B254700000000&text="
    for _ in range(300):
        if process.poll() is not None:
            break
        try:
            # Workers boot after the port is bound: a first answer may take seconds.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", probe, timeout=30):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
    raise BenchError(f"gunicorn did not answer on port {port}\n{tail}")


def check_ballots(runtime: Runtime, cycle_id: int, receipts: list[str]) -> tuple[int, int]:
    """(ballots stored, receipts shown with no stored ballot)."""
    with runtime.sessions() as db:
        stored = set(db.scalars(select(Ballot.receipt_tag).where(Ballot.cycle_id == cycle_id)))
    missing = [r for r in receipts if runtime.keyring.receipt_tag(cycle_id, r) not in stored]
    return len(stored), len(missing)


def main() -> None:
    missing = missing_server_programs()
    if missing:
        print(f"ussd_load: skipped, {', '.join(missing)} not installed"
              " (scripts/install-test-deps)")
        return
    for index in (0, 10**6):
        if normalise_msisdn(f"+{FIRST_PHONE + index}", "KE") != f"+{FIRST_PHONE + index}":
            raise BenchError(f"+{FIRST_PHONE + index} is not a valid Kenyan number")
    with tempfile.TemporaryDirectory(prefix="ussd-load-") as directory:
        run(Path(directory))


def run(directory: Path) -> None:
    redis, postgres = RedisServer(directory / "redis"), PostgresServer(directory / "pg")
    generators = Generators(GENERATORS)
    runtime = None
    try:
        redis.start()
        postgres.start()
        migrate.upgrade(make_engine(postgres.url))
        token, ballot_key = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        runtime = build_runtime(Settings(database_url=postgres.url, redis_url=redis.url,
                                         ballot_key=ballot_key))
        cycle_id = seed(runtime)
        path = f"/at/ussd?token={token}"
        env = production_env(postgres.url, redis.url, token, ballot_key, directory / "metrics")
        driver = Driver(generators)
        print(f"ussd_load: gunicorn {' '.join(GUNICORN)} on {os.cpu_count()} CPUs,"
              f" PostgreSQL + Redis, {GENERATORS} generator process(es) on the same machine;"
              f" {HOPS}-hop first-time voting sessions, {SECONDS:g} s steps", flush=True)
        stores = (int((postgres.data_dir / "postmaster.pid").read_text().split()[0]),
                  int(runtime.redis.info("server")["process_id"]))
        lower = {}
        for name, app in (("static", "static_ceiling"), ("floor", "session_floor")):
            port = free_port()
            print(f"  {LOWER[name]} (bench/{app}.py):", flush=True)
            with gunicorn(f"bench.{app}:app", port, env, directory / f"{name}.log",
                          path) as master:
                lower[name] = best(saturation(
                    driver, Target(name, port, path, "CON ", (master, *stores))))
        port = free_port()
        (directory / "metrics").mkdir()
        print("  Baraza /at/ussd (wsgi.py):", flush=True)
        with gunicorn("wsgi:app", port, env, directory / "baraza.log", path) as master:
            target = Target("baraza", port, path, THANKS, (master, *stores))
            saturated = best(saturation(driver, target))
            half = (driver.open_loop(target, saturated.rate / 2, 2 * SECONDS, saturated.alone)
                    if saturated else None)
        stored, lost = check_ballots(runtime, cycle_id, driver.receipts)
    finally:
        generators.close()
        if runtime is not None:
            runtime.close()
        postgres.stop()
        redis.stop()
    figures = report(lower["static"], lower["floor"], saturated, half, stored,
                     len(driver.receipts), lost)
    if lost or not figures:  # lost ballots, or sessions that never got through (errors above)
        sys.exit(1)


def report(ceiling: Step | None, floor: Step | None, saturated: Step | None,
           half: Step | None, stored: int, completed: int, lost: int) -> bool:
    """Print the figures; False when there are none (no rate kept up)."""
    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    print(f"  ballots stored: {stored}; sessions shown a receipt: {completed};"
          f" receipts with no ballot: {lost}")
    if ceiling is None or floor is None or saturated is None or half is None:
        print("  no rate kept up: no figures")
        return False
    ratio = saturated.rate / ceiling.rate  # the same sessions: the same hops per session
    for name, step in (("static CON   ", ceiling), ("session floor", floor),
                       ("Baraza       ", saturated)):
        print(f"  saturation, {name}: {step.rate:.1f} sessions/s, {step.offered:.0f} hops/s"
              f" (hop p50 {step.percentile(50) * 1e3:.1f} ms,"
              f" p99 {step.percentile(99) * 1e3:.1f} ms,"
              f" server CPU {step.cpu_per_hop()[0] * 1e3:.2f} ms/hop)")
    hops = max(1, saturated.outcome.hops)
    print("  Baraza's server CPU at saturation, ms/hop: " + ", ".join(
        f"{name} {cpu / hops * 1e3:.2f}"
        for name, cpu in zip(("gunicorn", "PostgreSQL", "Redis"), saturated.server_parts,
                             strict=True)))
    print(f"  ratio of Baraza's hops/s to the static ceiling at saturation: {ratio:.2f}"
          f" (target >= {TARGET_RATIO}: {yes(ratio >= TARGET_RATIO)});"
          f" server CPU per hop, static/Baraza:"
          f" {ceiling.cpu_per_hop()[0] / saturated.cpu_per_hop()[0]:.2f}")
    # What no stateful hop can beat on this stack: see bench/session_floor.py.
    print(f"  the session floor's hops/s to the static ceiling: {floor.rate / ceiling.rate:.2f};"
          f" Baraza's to the session floor: {saturated.rate / floor.rate:.2f}")
    sessions, hops = half.throughput()
    p99 = half.percentile(99)
    print(f"  half saturation, {half.rate:.1f} sessions/s offered for {half.seconds:.0f} s:"
          f" {sessions:.1f} sessions/s, {hops:.0f} hops/s, hop p50"
          f" {half.percentile(50) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"
          f" (target < {TARGET_P99 * 1e3:.0f} ms: {yes(p99 < TARGET_P99)}),"
          f" errors {half.errors} (target 0: {yes(not half.errors)})")
    by_hop = half.outcome.by_hop
    print("  hop p50 by reply at half saturation: " + ", ".join(
        f"{name} {statistics.median(by_hop[hop]) * 1e3:.0f}"
        for hop, name in enumerate(SCREENS) if by_hop.get(hop)) + " ms")
    late = max(half.outcome.late, default=0.0)
    print(f"  generator: latest session start {late * 1e3:.1f} ms behind schedule")
    return True
