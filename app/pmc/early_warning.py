"""Early warning on county projects: which ones an officer should look at, and why.

Pure: a project's dates and status and its latest reports in, flags out. No database, no clock:
the caller says what day it is (`today`, in the organization's time zone) and, optionally, the
zone to read report times in (`tz`; by default each report's own, i.e. UTC as stored).

Three rules, each for projects still open (a COMPLETED or CANCELLED project has no flags):

- QUIET: no report came in `quiet_days` days. Days are counted from the day of the latest
  report, or from the start date when the project was never reported on (or last reported on
  before it started). Exactly `quiet_days` days is quiet; one day fewer is not. A project not
  started yet (status PLANNED, or a start date after today) is never quiet; nor is one never
  reported on that has no start date (there is nothing to count from), nor one whose latest
  report says COMPLETE (its PMC has nothing left to report; an officer closes it).
- BEHIND: the latest reported progress is more than `behind_by` percentage points below the
  progress the dates imply: expected = days since start / days from start to planned end,
  as a percentage clamped to 0-100 (0 up to the start day, 100 from the end day). Exactly
  `behind_by` points behind is not flagged. No report, no start date, no end date, or an end
  before the start: no flag.
- TROUBLE: the two latest reports both say ATRISK, OFFTRACK or STALLED (any mix, from any
  members). One such report is not enough, nor is one followed by an ONTRACK report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

from app.db.models.projects import ProjectStatus, ReportStatus

if TYPE_CHECKING:
    from app.settings import Settings


class Flag(StrEnum):
    QUIET = "quiet"  # no report for a while
    BEHIND = "behind"  # progress behind the schedule its dates imply
    TROUBLE = "trouble"  # the two latest reports say at risk, off track or stalled


CLOSED = frozenset({ProjectStatus.COMPLETED, ProjectStatus.CANCELLED})
TROUBLED = frozenset({ReportStatus.ATRISK, ReportStatus.OFFTRACK, ReportStatus.STALLED})


@dataclass(frozen=True)
class WarningRules:
    quiet_days: int = 14  # no report in this many days: QUIET
    behind_by: int = 20  # percentage points behind schedule, more than this: BEHIND
    reminder_every_days: int = 7  # a quiet project's members are reminded at most this often

    @classmethod
    def from_settings(cls, settings: Settings) -> WarningRules:
        return cls(quiet_days=settings.pmc_quiet_days, behind_by=settings.pmc_behind_by,
                   reminder_every_days=settings.pmc_reminder_days)


class ProjectFacts(Protocol):
    """What the rules read of a project (a `Project`, or a row with these columns)."""

    @property
    def status(self) -> str: ...
    @property
    def start_date(self) -> date | None: ...
    @property
    def end_date(self) -> date | None: ...


class ReportFacts(Protocol):
    """What the rules read of a progress report (a `ProgressReport`, or such a row)."""

    @property
    def received_at(self) -> datetime: ...
    @property
    def progress(self) -> int: ...
    @property
    def status(self) -> str: ...


def project_flags(project: ProjectFacts, reports_newest_first: Sequence[ReportFacts],
                  today: date, rules: WarningRules, *,
                  tz: tzinfo | None = None) -> tuple[Flag, ...]:
    """The project's flags, in the order QUIET, BEHIND, TROUBLE (only the two newest reports
    are read)."""
    if project.status in CLOSED:
        return ()
    reports = reports_newest_first[:2]
    flags = []
    days = quiet_for(project, reports, today, tz=tz)
    if days is not None and days >= rules.quiet_days:
        flags.append(Flag.QUIET)
    if _behind(project, reports, today, rules.behind_by):
        flags.append(Flag.BEHIND)
    if len(reports) == 2 and all(r.status in TROUBLED for r in reports):
        flags.append(Flag.TROUBLE)
    return tuple(flags)


def quiet_for(project: ProjectFacts, reports_newest_first: Sequence[ReportFacts], today: date,
              *, tz: tzinfo | None = None) -> int | None:
    """Days the project has gone without a report; None when it cannot be quiet (see above)."""
    if project.status in CLOSED or not started(project, today):
        return None
    since = project.start_date
    if reports_newest_first:
        latest = reports_newest_first[0]
        if latest.status == ReportStatus.COMPLETE:
            return None
        reported = report_day(latest.received_at, tz)
        since = reported if since is None else max(since, reported)
    if since is None:
        return None
    return max((today - since).days, 0)


def started(project: ProjectFacts, today: date) -> bool:
    """False for a PLANNED project, or one whose start date is still ahead."""
    if project.status == ProjectStatus.PLANNED:
        return False
    return project.start_date is None or project.start_date <= today


def expected_progress(project: ProjectFacts, today: date) -> Fraction | None:
    """The percentage of the works its dates imply by `today` (0-100); None without a
    schedule (a date missing, or the end before the start)."""
    start, end = project.start_date, project.end_date
    if start is None or end is None or end < start:
        return None
    if today <= start:
        return Fraction(0)
    if today >= end:
        return Fraction(100)
    return Fraction(100 * (today - start).days, (end - start).days)


def report_day(received_at: datetime, tz: tzinfo | None = None) -> date:
    """The day a report came in, in `tz` (its own zone, UTC as stored, when None)."""
    return (received_at.astimezone(tz) if tz is not None else received_at).date()


def _behind(project: ProjectFacts, reports: Sequence[ReportFacts], today: date,
            behind_by: int) -> bool:
    expected = expected_progress(project, today)
    if expected is None or not reports:
        return False
    return expected - reports[0].progress > behind_by
