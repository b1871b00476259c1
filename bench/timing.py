"""Interleaved timing (baseline and subject alternate so load on the machine hits both alike)
and CPU time of process trees."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def interleaved(baseline: Callable[[], None], subject: Callable[[], None],
                rounds: int) -> tuple[float, float]:
    """Median seconds of one call of each, measured in alternating rounds."""
    base_times, subject_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        baseline()
        base_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        subject()
        subject_times.append(time.perf_counter() - start)
    return statistics.median(base_times), statistics.median(subject_times)


def cpu_seconds(roots: list[int]) -> float:
    """CPU time used so far by these processes and all their descendants (Linux /proc),
    including descendants that have ended: a parent's cutime/cstime holds the children it
    reaped (PostgreSQL's backends for connections now closed, rq's work horses)."""
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    wanted = set(roots) & set(times)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        wanted |= more
        grew = bool(more)
    return sum(times[pid] for pid in wanted)
