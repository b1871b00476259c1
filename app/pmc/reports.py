"""Progress reports from PMC members: recorded once per source message, each with a reference.

A reference is "PR" and six digits (PR482913): short enough to read out over the phone or type
on a keypad, unique in the organization, random so it says nothing of how many reports exist.
The same source message (AT's SMS `id`, or whatever the USSD layer passes for a confirmed
session) never makes two reports: the second call returns the first report. Two workers
racing on the same message make the later one's transaction fail on the unique key; its retry
then finds the report.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Channel, MainIssue, PmcMember, ProgressReport, ReportStatus

REFERENCE_PREFIX, REFERENCE_DIGITS = "PR", 6
MAX_COMMENT = 500


class Refusal(StrEnum):
    INACTIVE_MEMBER = "inactive_member"  # stood down from the PMC
    BAD_PROGRESS = "bad_progress"  # not 0-100


class ReportRefused(ValueError):
    def __init__(self, reason: Refusal) -> None:
        self.reason = reason
        super().__init__(reason.value)


@dataclass(frozen=True)
class Recorded:
    report: ProgressReport
    created: bool  # False: this source message was recorded before


def record_report(db: Session, member: PmcMember, *, channel: Channel | str, progress: int,
                  status: ReportStatus | str, issue: MainIssue | str = MainIssue.NONE,
                  comment: str | None = None, source_message_id: str | None = None,
                  received_at: datetime | None = None, reference: str | None = None) -> Recorded:
    """Record a report by this member on their project, once per source message.

    `reference` is one taken earlier with `new_reference` (USSD shows it on the final screen
    before the write); by default a new one is made here."""
    if source_message_id is not None:
        earlier = report_for_message(db, source_message_id)
        if earlier is not None:
            return Recorded(earlier, False)
    if not member.active:
        raise ReportRefused(Refusal.INACTIVE_MEMBER)
    if isinstance(progress, bool) or not 0 <= int(progress) <= 100:
        raise ReportRefused(Refusal.BAD_PROGRESS)
    organization_id = member.project.organization_id
    report = ProgressReport(
        organization_id=organization_id, project_id=member.project_id, member_id=member.id,
        channel=Channel(channel), progress=int(progress), status=ReportStatus(status),
        issue=MainIssue(issue), comment=_comment(comment),
        reference=reference or new_reference(db, organization_id),
        source_message_id=source_message_id,
        received_at=received_at or utcnow())
    db.add(report)
    db.flush()
    return Recorded(report, True)


def _comment(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())
    return cleaned[:MAX_COMMENT] or None


def new_reference(db: Session, organization_id: int) -> str:
    """A reference not yet used in the organization."""
    while True:
        digits = "".join(secrets.choice("0123456789") for _ in range(REFERENCE_DIGITS))
        reference = REFERENCE_PREFIX + digits
        if digits[0] != "0" and report_by_reference(db, organization_id, reference) is None:
            return reference


def report_by_reference(db: Session, organization_id: int, text: str) -> ProgressReport | None:
    """The report with this reference, however it was typed ("pr 482-913", "482913")."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) != REFERENCE_DIGITS:
        return None
    return db.scalar(select(ProgressReport).where(
        ProgressReport.organization_id == organization_id,
        ProgressReport.reference == REFERENCE_PREFIX + digits))


def report_for_message(db: Session, source_message_id: str) -> ProgressReport | None:
    return db.scalar(select(ProgressReport)
                     .where(ProgressReport.source_message_id == source_message_id))


def latest_reports(db: Session, project_ids: list[int]) -> dict[int, ProgressReport]:
    """The newest report of each project that has one (by time received, then id)."""
    if not project_ids:
        return {}
    ranked = (select(ProgressReport.id, func.row_number().over(
        partition_by=ProgressReport.project_id,
        order_by=(ProgressReport.received_at.desc(), ProgressReport.id.desc())).label("rank"))
        .where(ProgressReport.project_id.in_(project_ids)).subquery())
    rows = db.scalars(select(ProgressReport).join(ranked, ranked.c.id == ProgressReport.id)
                      .where(ranked.c.rank == 1))
    return {report.project_id: report for report in rows}


def latest_report(db: Session, project_id: int) -> ProgressReport | None:
    return latest_reports(db, [project_id]).get(project_id)


def reports_of(db: Session, project_id: int) -> list[ProgressReport]:
    """The project's reports, newest first (its timeline)."""
    return list(db.scalars(select(ProgressReport).where(ProgressReport.project_id == project_id)
                           .order_by(ProgressReport.received_at.desc(),
                                     ProgressReport.id.desc())))
