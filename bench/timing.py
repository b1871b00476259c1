"""Interleaved timing: baseline and subject alternate so load on the machine hits both alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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
