"""Early-warning flags of an organization's projects, read from the database in two queries.

The rules themselves are pure (`app.pmc.early_warning`); this module fetches what they read:
each project's dates and status, and its two latest reports (one windowed query, not one per
project), and reads report times in the organization's time zone.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from app.db.models import Organization, ProgressReport, Project
from app.pmc.early_warning import Flag, WarningRules, project_flags

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watched:
    """One project as the rules see it: its columns and its latest reports, newest first."""

    project: Row
    reports: tuple[Row, ...]


def flags_by_project(db: Session, organization_id: int, today: date,
                     rules: WarningRules) -> dict[int, tuple[Flag, ...]]:
    """Every project of the organization (by id) with its flags; () when it has none."""
    zone = organization_zone(db, organization_id)
    return {w.project.id: project_flags(w.project, w.reports, today, rules, tz=zone)
            for w in watched_projects(db, organization_id)}


def watched_projects(db: Session, organization_id: int) -> list[Watched]:
    """The organization's projects, by code, each with its two latest reports."""
    projects = db.execute(
        select(Project.id, Project.code, Project.name, Project.status, Project.start_date,
               Project.end_date)
        .where(Project.organization_id == organization_id).order_by(Project.code)).all()
    reports = latest_reports_by_project(db, organization_id, 2)
    return [Watched(p, tuple(reports.get(p.id, ()))) for p in projects]


def latest_reports_by_project(db: Session, organization_id: int,
                              per_project: int) -> dict[int, list[Row]]:
    """Up to `per_project` latest reports of each project (by time received, then id), newest
    first, as rows of project_id, received_at, progress, status."""
    rank = func.row_number().over(
        partition_by=ProgressReport.project_id,
        order_by=(ProgressReport.received_at.desc(), ProgressReport.id.desc())).label("rank")
    ranked = (select(ProgressReport.project_id, ProgressReport.received_at,
                     ProgressReport.progress, ProgressReport.status, rank)
              .where(ProgressReport.organization_id == organization_id).subquery())
    rows = db.execute(select(ranked).where(ranked.c.rank <= per_project)
                      .order_by(ranked.c.project_id, ranked.c.rank))
    found: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        found[row.project_id].append(row)
    return dict(found)


def organization_zone(db: Session, organization_id: int) -> tzinfo:
    organization = db.get(Organization, organization_id)
    return zone_of(organization.timezone if organization else None)


def zone_of(name: str | None) -> tzinfo:
    """The named IANA zone; UTC (with a warning) when it is unknown."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; using UTC", name)
        return UTC


def local_today(organization: Organization, now: datetime) -> date:
    """The organization's date at the moment `now` (timezone-aware)."""
    return now.astimezone(zone_of(organization.timezone)).date()
