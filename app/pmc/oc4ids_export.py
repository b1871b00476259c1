"""An organization's projects as an OC4IDS project package (JSON), PMC observations included.

Field names follow OC4IDS 0.9 (project package and project schemas):

- package: `uri`, `publishedDate`, `publisher.name` (the organization), `version` "0.9",
  `projects`.
- `id`: the OC4IDS id the project was imported with, else `baraza-<org>-<code>` (a local id:
  the county has no registered OC4IDS prefix); `identifiers`: the project code, scheme
  `internal`; `title`; `updated`: the last change of the project or its latest report.
- `status` (projectStatus codelist): planned -> preparation, ongoing and stalled ->
  implementation (the codelist has no "stalled"; the PMC observations show it), completed ->
  completed, cancelled -> cancelled.
- `period`: start and planned end dates as date-times at midnight in the organization's time
  zone.
- `budget.amount` and the contracting process's `summary.contractValue`: the contract value
  with the organization's currency; `publicAuthority.name`: the department;
  `contractingProcesses[0]`: `id` the OCDS ocid when known (else `<project id>-contract`),
  `summary.suppliers` the contractor, `summary.contractPeriod` the project's dates.
- `locations`: one per ward, `description` its name, `gazetteer` scheme `IEBC` with the ward code.
- `forecasts` physicalProgress: the plan, 0% at the start and 100% at the planned end.
- `metrics` physicalProgress (metricID codelist): one observation per PMC report, `id` its
  reference, `period` the time it arrived, `measure` the percent reported, `unit` percent
  (UN/CEFACT P1), `dimensions` the PMC's status, main issue and channel, `notes` the comment.
  Members' names and phones are not published. metrics financialProgress: the amount paid
  (`value`) and its percent of the contract value (`measure`), observed when exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.models import Organization, ProgressReport, Project, ProjectStatus

OC4IDS_VERSION = "0.9"
PROJECT_STATUS = {
    ProjectStatus.PLANNED: "preparation",
    ProjectStatus.ONGOING: "implementation",
    ProjectStatus.STALLED: "implementation",
    ProjectStatus.COMPLETED: "completed",
    ProjectStatus.CANCELLED: "cancelled",
}
PERCENT = {"name": "percent", "scheme": "UNCEFACT", "id": "P1"}
GAZETTEER = "IEBC"


def oc4ids_package(db: Session, organization: Organization, uri: str,
                   published: datetime) -> dict:
    """Every project of the organization, by code, as an OC4IDS project package."""
    projects = list(db.scalars(select(Project).where(Project.organization_id == organization.id)
                               .order_by(Project.code).options(selectinload(Project.wards))))
    reports: dict[int, list[ProgressReport]] = {p.id: [] for p in projects}
    for report in db.scalars(select(ProgressReport)
                             .where(ProgressReport.organization_id == organization.id)
                             .order_by(ProgressReport.received_at, ProgressReport.id)):
        reports.setdefault(report.project_id, []).append(report)
    zone = ZoneInfo(organization.timezone)
    return {
        "uri": uri,
        "publishedDate": _moment(published, zone),
        "publisher": {"name": organization.name},
        "version": OC4IDS_VERSION,
        "projects": [oc4ids_project(organization, p, reports[p.id], published)
                     for p in projects],
    }


def oc4ids_project(organization: Organization, project: Project,
                   reports: Iterable[ProgressReport], published: datetime) -> dict:
    """One project in OC4IDS shape; `reports` oldest first."""
    zone, currency = ZoneInfo(organization.timezone), organization.currency
    reports = list(reports)
    ident = project.oc4ids_id or f"baraza-{organization.code}-{project.code}"
    updated = max([project.updated_at, *(r.received_at for r in reports)])
    record: dict = {
        "id": ident,
        "identifiers": [{"id": project.code, "scheme": "internal"}],
        "updated": _moment(updated, zone),
        "title": project.name,
        "status": PROJECT_STATUS[ProjectStatus(project.status)],
    }
    period = _period(project.start_date, project.end_date, zone)
    if period:
        record["period"] = period
    if project.wards:
        record["locations"] = [
            {"id": str(index), "description": ward.name,
             "gazetteer": {"scheme": GAZETTEER, "identifiers": [ward.code]}}
            for index, ward in enumerate(project.wards, start=1)]
    value = _value(project.contract_value, currency)
    if value:
        record["budget"] = {"amount": value}
    if project.department:
        record["publicAuthority"] = {"name": project.department}
    if project.ocid or project.contractor or value:
        record["contractingProcesses"] = [_contracting(project, ident, value, period)]
    forecast = _plan(project.start_date, project.end_date, zone)
    if forecast:
        record["forecasts"] = [forecast]
    metrics = [m for m in (_physical(reports, zone), _financial(project, currency, published,
                                                                zone)) if m]
    if metrics:
        record["metrics"] = metrics
    return record


def _contracting(project: Project, ident: str, value: dict | None, period: dict | None) -> dict:
    summary: dict = {}
    if project.ocid:
        summary["ocid"] = project.ocid
    if project.contractor:
        summary["suppliers"] = [{"name": name.strip()}
                                for name in project.contractor.split(";") if name.strip()]
    if value:
        summary["contractValue"] = value
    if period:
        summary["contractPeriod"] = period
    return {"id": project.ocid or f"{ident}-contract", "summary": summary}


def _physical(reports: list[ProgressReport], zone: ZoneInfo) -> dict | None:
    if not reports:
        return None
    return {
        "id": "physicalProgress",
        "title": "Physical progress",
        "description": "Percent of the works done, as reported by the Project Management "
                       "Committee (PMC) by SMS or USSD",
        "observations": [_observation(report, zone) for report in reports],
    }


def _observation(report: ProgressReport, zone: ZoneInfo) -> dict:
    moment = _moment(report.received_at, zone)
    observation = {
        "id": report.reference,
        "period": {"startDate": moment, "endDate": moment},
        "measure": str(report.progress),
        "unit": dict(PERCENT),
        "dimensions": {"reportStatus": str(report.status), "mainIssue": str(report.issue),
                       "channel": str(report.channel)},
    }
    if report.comment:
        observation["notes"] = report.comment
    return observation


def _financial(project: Project, currency: str, published: datetime,
               zone: ZoneInfo) -> dict | None:
    if not project.contract_value:
        return None
    moment = _moment(published, zone)
    percent = round(100 * project.amount_paid / project.contract_value)
    return {
        "id": "financialProgress",
        "title": "Financial progress",
        "description": "Amount paid, and its percent of the contract value",
        "observations": [{
            "id": "paid", "period": {"startDate": moment, "endDate": moment},
            "value": _value(project.amount_paid, currency), "measure": str(percent),
            "unit": dict(PERCENT)}],
    }


def _plan(start: date | None, end: date | None, zone: ZoneInfo) -> dict | None:
    if start is None or end is None:
        return None
    return {
        "id": "physicalProgress",
        "title": "Planned physical progress",
        "description": "A straight line from the start date to the planned end date",
        "observations": [
            {"id": ident, "period": {"startDate": _day(day, zone), "endDate": _day(day, zone)},
             "measure": measure, "unit": dict(PERCENT)}
            for ident, day, measure in (("start", start, "0"), ("end", end, "100"))],
    }


def _period(start: date | None, end: date | None, zone: ZoneInfo) -> dict | None:
    period = {}
    if start is not None:
        period["startDate"] = _day(start, zone)
    if end is not None:
        period["endDate"] = _day(end, zone)
    if start is not None and end is not None:
        period["durationInDays"] = (end - start).days
    return period or None


def _value(amount: int | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def _day(day: date, zone: ZoneInfo) -> str:
    return datetime.combine(day, time(0), zone).isoformat()


def _moment(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")
