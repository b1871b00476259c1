"""Open-loop USSD load from separate processes: voting sessions started on a fixed schedule.

Each session is what AT sends for one caller: the same sessionId on every hop, `text` growing
by `*`-joined inputs, its own phoneNumber, the raw form fields sessionId, serviceCode,
phoneNumber, networkCode and text. Session i starts at `start_at + i / rate` whether or not
earlier sessions were answered (open loop), so a server that falls behind shows it as a
backlog instead of quietly slowing the generator down. Within a session each hop follows the
previous answer at once.

The HTTP client is raw asyncio (HTTP/1.1, keep-alive connections reused, as AT's gateway may
do), so no client library's overhead sits between the two compared servers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from urllib.parse import urlencode

HOST = "127.0.0.1"
NETWORK = "63902"  # Safaricom's mobile network code; Baraza does not read it
MAX_CONNECTIONS = 256  # per generator process; more hops in flight wait for one


@dataclass(frozen=True)
class Plan:
    """One run: who to call, which inputs, how fast, and what the last reply must be."""

    port: int
    path: str  # with the callback token: /at/ussd?token=...
    service_code: str
    keys: tuple[str, ...]  # the inputs after the dial
    final_prefix: str  # the last hop's reply starts with this; every earlier one with "CON "
    first_index: int  # session i calls from phone first_phone + i
    first_phone: int
    session_prefix: str
    timeout: float  # a hop unanswered after this long is an error (AT gives up too)
    rate: float = 0.0  # open loop: sessions per second, all processes together
    sessions: int = 0  # open loop: how many sessions in all
    concurrency: int = 0  # closed loop instead: sessions in flight, each followed by the next
    seconds: float = 0.0  # closed loop: for how long
    start_at: float = 0.0  # time.time() of the first session, the same for every process
    window: tuple[float, float] = (0.0, 0.0)  # time.time() span in which answers are counted


@dataclass
class Outcome:
    """What one process saw; `merge` adds up the processes."""

    latencies: list[float] = field(default_factory=list)  # seconds, every answered hop
    by_hop: dict[int, list[float]] = field(default_factory=dict)  # the same, by hop number
    errors: Counter[str] = field(default_factory=Counter)
    hops: int = 0  # hops answered with 200 and CON/END
    hops_in_window: int = 0
    sessions_started: int = 0
    sessions_done: int = 0  # every hop answered as expected
    receipts: list[str] = field(default_factory=list)  # last word of each final reply
    first_sent: float = float("inf")
    last_answered: float = 0.0
    late: list[float] = field(default_factory=list)  # how late each session started
    durations: list[tuple[int, float]] = field(default_factory=list)  # (index, due to END)
    indices_end: int = 0  # one past the highest session index used: the next run's first

    def merge(self, other: Outcome) -> Outcome:
        return Outcome(
            self.latencies + other.latencies,
            {hop: self.by_hop.get(hop, []) + other.by_hop.get(hop, [])
             for hop in self.by_hop.keys() | other.by_hop.keys()},
            self.errors + other.errors,
            self.hops + other.hops, self.hops_in_window + other.hops_in_window,
            self.sessions_started + other.sessions_started,
            self.sessions_done + other.sessions_done, self.receipts + other.receipts,
            min(self.first_sent, other.first_sent), max(self.last_answered, other.last_answered),
            self.late + other.late, self.durations + other.durations,
            max(self.indices_end, other.indices_end))


class Refused(Exception):
    """An answer that is not what AT accepts: its kind is the error's name in the report."""


class Pool:
    """Keep-alive HTTP/1.1 connections to one server; a request takes an idle one or opens one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, bytes]:
        body = urlencode(form).encode()
        request = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        async with self.slots:
            while self.idle:  # the server may have closed an idle connection: then a new one
                connection = self.idle.pop()
                try:
                    return await self._exchange(connection, request)
                except (asyncio.IncompleteReadError, ConnectionError):
                    continue
            connection = await asyncio.open_connection(HOST, self.port)
            return await self._exchange(connection, request)

    async def _exchange(self, connection, request: bytes) -> tuple[int, bytes]:
        reader, writer = connection
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append(connection)
        return status, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _session(pool: Pool, plan: Plan, index: int, outcome: Outcome, due: float) -> None:
    """One caller's complete session; `due` is when its first hop was due."""
    ready = due
    form = {"sessionId": f"{plan.session_prefix}-{index}", "serviceCode": plan.service_code,
            "phoneNumber": f"+{plan.first_phone + index}", "networkCode": NETWORK, "text": ""}
    inputs = ("",) + plan.keys
    outcome.sessions_started += 1
    outcome.indices_end = max(outcome.indices_end, index + 1)
    for hop, key in enumerate(inputs):
        form["text"] = f"{form['text']}*{key}" if form["text"] else key
        last = hop == len(inputs) - 1
        sent = time.time()
        outcome.first_sent = min(outcome.first_sent, sent)
        try:
            status, body = await asyncio.wait_for(pool.post(plan.path, form), plan.timeout)
        except TimeoutError:
            outcome.errors["timeout"] += 1
            return
        except Exception as exc:  # noqa: BLE001 - a refused or cut connection is counted
            outcome.errors[type(exc).__name__] += 1
            return
        answered = time.time()
        reply = body.decode("utf-8", "replace")
        if status != 200:
            outcome.errors[f"http {status}"] += 1
            return
        if not reply.startswith(("CON ", "END ")):
            outcome.errors["not CON/END"] += 1
            return
        outcome.hops += 1
        outcome.latencies.append(answered - min(ready, sent))
        outcome.by_hop.setdefault(hop, []).append(outcome.latencies[-1])
        outcome.last_answered = max(outcome.last_answered, answered)
        if plan.window[0] <= answered < plan.window[1]:
            outcome.hops_in_window += 1
        if not reply.startswith(plan.final_prefix if last else "CON "):
            outcome.errors["unexpected screen"] += 1  # e.g. END too early: the flow changed
            return
        ready = answered
    outcome.sessions_done += 1
    outcome.durations.append((index, ready - due))
    outcome.receipts.append(reply.rsplit(" ", 1)[-1])


async def _open_loop(plan: Plan, mine: range) -> Outcome:
    outcome, pool, tasks = Outcome(), Pool(plan.port), []
    loop = asyncio.get_running_loop()
    for index in mine:
        due = plan.start_at + index / plan.rate
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        outcome.late.append(max(0.0, time.time() - due))
        tasks.append(loop.create_task(_session(pool, plan, plan.first_index + index, outcome,
                                                due)))
    await asyncio.gather(*tasks)
    pool.close()
    return outcome


async def _closed_loop(plan: Plan, worker: int, workers: int) -> Outcome:
    outcome, pool = Outcome(), Pool(plan.port)
    deadline = plan.start_at + plan.seconds

    async def caller(slot: int) -> None:
        n = 0
        while time.time() < deadline:
            index = plan.first_index + (n * plan.concurrency + slot) * workers + worker
            await _session(pool, plan, index, outcome, time.time())
            n += 1

    await asyncio.gather(*(caller(slot) for slot in range(plan.concurrency)))
    pool.close()
    return outcome


def _serve(conn: Connection, worker: int, workers: int) -> None:
    """A generator process: run each Plan it is sent, send back its Outcome."""
    while True:
        plan: Plan | None = conn.recv()
        if plan is None:
            return
        if plan.concurrency:
            outcome = asyncio.run(_closed_loop(plan, worker, workers))
        else:
            outcome = asyncio.run(_open_loop(plan, range(worker, plan.sessions, workers)))
        conn.send(outcome)


class Generators:
    """Long-lived generator processes (spawned: nothing of the parent's connections leaks in)."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.links, self.processes = [], []
        for worker in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, worker, processes),
                                      daemon=True)
            process.start()
            self.links.append(ours)
            self.processes.append(process)

    def run(self, plan: Plan) -> Outcome:
        for link in self.links:
            link.send(plan)
        total = Outcome()
        for link in self.links:
            total = total.merge(link.recv())
        return total

    def close(self) -> None:
        for link, process in zip(self.links, self.processes, strict=True):
            link.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
