"""PMC progress reports as CSV, for officers' spreadsheets: one row per report.

Columns, in this order:

- `project_code`, `project_name`
- `reference`: the report's reference (PR + six digits), as the member was told it
- `received_at`: when it arrived, ISO 8601 in the organization's time zone
  (2026-11-22T08:00:00+03:00)
- `member_name`, `member_role`: who sent it (chair, secretary, member); phones are left out
- `channel`: sms or ussd
- `progress`: percent of the works done, 0-100
- `status`: ontrack, atrisk, offtrack, stalled or complete
- `issue`: none, materials, labour, funds_delayed, quality, safety or other
- `comment`: the member's words, may be empty

Rows go by project code, then oldest report first. A cell that a spreadsheet would run as a
formula (starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe: the
comments are typed by members of the public.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Organization, PmcMember, ProgressReport, Project

REPORT_COLUMNS = ("project_code", "project_name", "reference", "received_at", "member_name",
                  "member_role", "channel", "progress", "status", "issue", "comment")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def reports_csv(db: Session, organization: Organization, project_id: int | None = None) -> str:
    """The organization's reports (or one project's) as CSV text with a header line."""
    query = (select(ProgressReport, Project, PmcMember)
             .join(Project, ProgressReport.project_id == Project.id)
             .join(PmcMember, ProgressReport.member_id == PmcMember.id)
             .where(ProgressReport.organization_id == organization.id,
                    Project.organization_id == organization.id)
             .order_by(Project.code, ProgressReport.received_at, ProgressReport.id))
    if project_id is not None:
        query = query.where(Project.id == project_id)
    zone = ZoneInfo(organization.timezone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for report, project, member in db.execute(query):
        writer.writerow([safe_cell(value) for value in (
            project.code, project.name, report.reference,
            report.received_at.astimezone(zone).isoformat(timespec="seconds"),
            member.name, str(member.role), str(report.channel), report.progress,
            str(report.status), str(report.issue), report.comment or "")])
    return out.getvalue()


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
