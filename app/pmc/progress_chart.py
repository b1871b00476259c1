"""A project's progress chart laid out for SVG: reported progress over time against the plan.

The plan is the straight line from 0% on the start date to 100% on the planned end, which is the
schedule the early warning measures against. Reports are points joined in time order. The time
axis runs from the start (or the first report) to the planned end or the last report, whichever
is later, so a late project shows its reports past the end of the plan. Coordinates are in the
SVG's own units (`WIDTH` x `HEIGHT`); the template draws them, with no script and no style="".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 40  # room for the axis labels
PERCENT_TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    progress: int


@dataclass(frozen=True)
class Tick:
    at: float  # x for a date tick, y for a percent tick
    label: str


@dataclass(frozen=True)
class ProgressChart:
    first_day: date
    last_day: date
    planned: tuple[Point, Point] | None  # None: the project has no start or no planned end
    reported: tuple[Point, ...]  # oldest first
    today: float | None  # x of today's line when today is on the axis
    date_ticks: tuple[Tick, ...]
    percent_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def reported_points(self) -> str:
        """The polyline's `points` attribute."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.reported)


def chart_of(start: date | None, end: date | None, reports: Sequence[tuple[datetime, int]],
             timezone: str, today: date) -> ProgressChart | None:
    """The chart of reports [(received_at, progress)], or None when there is nothing to draw."""
    zone = ZoneInfo(timezone)
    days = sorted((moment.astimezone(zone).date(), progress) for moment, progress in reports)
    planned = start is not None and end is not None
    if not days and not planned:
        return None
    first = min([d for d in (start, days[0][0] if days else None) if d is not None])
    last = max([d for d in (end, days[-1][0] if days else None) if d is not None])
    if last <= first:
        last = date.fromordinal(first.toordinal() + 1)  # one report, no dates: a day's width
    span = last.toordinal() - first.toordinal()

    def x(day: date) -> float:
        return LEFT + (WIDTH - RIGHT - LEFT) * (day.toordinal() - first.toordinal()) / span

    def y(progress: int) -> float:
        return TOP + (HEIGHT - BOTTOM - TOP) * (100 - progress) / 100

    line = (Point(x(start), y(0), start, 0), Point(x(end), y(100), end, 100)) if planned else None
    points = tuple(Point(x(day), y(progress), day, progress) for day, progress in days)
    ticks = {first: x(first), last: x(last)}
    if start is not None:
        ticks[start] = x(start)
    if end is not None:
        ticks[end] = x(end)
    return ProgressChart(
        first_day=first, last_day=last, planned=line, reported=points,
        today=x(today) if first <= today <= last else None,
        date_ticks=tuple(Tick(at, day.isoformat()) for day, at in sorted(ticks.items())),
        percent_ticks=tuple(Tick(y(p), f"{p}%") for p in PERCENT_TICKS))
