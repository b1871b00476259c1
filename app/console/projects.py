"""County projects in the console: the list with flags, a project's page, editing a project.

Everything a PMC sends shows here: the report timeline, the progress chart, residents'
complaint tickets (and the feedback kept before tickets existed) and "works verified"
sign-offs. PMC changes are in `project_members.py`, file imports in
`project_imports.py`, exports in `project_exports.py`. Every change is audited in the
transaction that makes it.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.channels.phone import mask
from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.base import utcnow
from app.db.models import (
    MainIssue,
    Organization,
    PmcRole,
    Project,
    ProjectStatus,
    ReportStatus,
    Ticket,
)
from app.pmc import feedback, milestones, reports
from app.pmc.early_warning import Flag, WarningRules
from app.pmc.members import members_of
from app.pmc.progress_chart import chart_of
from app.pmc.project_edit import FIELDS, EditRefused, apply_edit, read_edit
from app.pmc.projects import projects_of
from app.pmc.warnings import flags_by_project, local_today, zone_of
from app.services import audit
from app.services.places import wards_of
from app.tickets import notices

FLAG_LABELS = {Flag.QUIET: "Quiet", Flag.BEHIND: "Behind schedule", Flag.TROUBLE: "Trouble"}
STATUS_LABELS = {ProjectStatus.PLANNED: "Planned", ProjectStatus.ONGOING: "Ongoing",
                 ProjectStatus.STALLED: "Stalled", ProjectStatus.COMPLETED: "Completed",
                 ProjectStatus.CANCELLED: "Cancelled"}
REPORT_LABELS = {ReportStatus.ONTRACK: "On track", ReportStatus.ATRISK: "At risk",
                 ReportStatus.OFFTRACK: "Off track", ReportStatus.STALLED: "Stalled",
                 ReportStatus.COMPLETE: "Complete"}
ISSUE_LABELS = {MainIssue.NONE: "None", MainIssue.MATERIALS: "Materials",
                MainIssue.LABOUR: "Labour", MainIssue.FUNDS_DELAYED: "Funds delayed",
                MainIssue.QUALITY: "Quality", MainIssue.SAFETY: "Safety",
                MainIssue.OTHER: "Other"}
ROLE_LABELS = {PmcRole.CHAIR: "Chair", PmcRole.SECRETARY: "Secretary",
               PmcRole.MEMBER: "Member"}


@bp.app_template_filter("local_time")
def local_time(moment: datetime, timezone: str) -> str:
    """2026-11-22 08:00 in the organization's zone (the one officers and members live in)."""
    return moment.astimezone(zone_of(timezone)).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("masked")
def masked(msisdn: str) -> str:
    return mask(msisdn)


def flag_hints(rules: WarningRules) -> dict[str, str]:
    return {Flag.QUIET: f"no PMC report for {rules.quiet_days} days or more",
            Flag.BEHIND: f"reported progress more than {rules.behind_by} points behind "
                         "what its dates imply",
            Flag.TROUBLE: "the two latest reports say at risk, off track or stalled"}


def _rules() -> WarningRules:
    return WarningRules.from_settings(current_app.extensions["baraza"].settings)


def _flags(org: Organization) -> dict[int, tuple[Flag, ...]]:
    return flags_by_project(db(), org.id, local_today(org, utcnow()), _rules())


@bp.get("/orgs/<code>/projects")
@login_required(roles=ROLES[Permission.VIEW_PROJECTS])
def project_list(code: str) -> str:
    org = organization_or_404(code)
    session = db()
    wards = wards_of(session, org.id)
    ward_id = request.args.get("ward", "", type=str)
    wanted_flag = request.args.get("flag", "", type=str)
    ward = next((w for w in wards if str(w.id) == ward_id), None)
    flag = wanted_flag if wanted_flag in {str(f) for f in Flag} else ""
    flags = _flags(org)
    projects = [p for p in projects_of(session, org.id)
                if (ward is None or any(w.id == ward.id for w in p.wards))
                and (not flag or flag in flags.get(p.id, ()))]
    latest = reports.latest_reports(session, [p.id for p in projects])
    return render_template("console/projects.html", org=org, projects=projects, latest=latest,
                           flags=flags, wards=wards, ward=ward, flag=flag,
                           flag_labels=FLAG_LABELS, flag_hints=flag_hints(_rules()),
                           status_labels=STATUS_LABELS, filtered=bool(ward or flag))


@bp.get("/orgs/<code>/projects/<int:project_id>")
@login_required(roles=ROLES[Permission.VIEW_PROJECTS])
def project_page(code: str, project_id: int) -> str:
    org = organization_or_404(code)
    return render_project(org, project_or_404(org, project_id))


def _tickets_of(session, project_id: int) -> list[Ticket]:
    """The project's complaint tickets (REPORT <code>, COMPLAIN <code>...), newest first."""
    return list(session.scalars(select(Ticket).where(Ticket.project_id == project_id)
                                .order_by(Ticket.created_at.desc(), Ticket.id.desc())))


def project_or_404(org: Organization, project_id: int) -> Project:
    project = db().get(Project, project_id)
    if project is None or project.organization_id != org.id:
        abort(404)  # another organization's project is as absent as one that never existed
    return project


def render_project(org: Organization, project: Project, error: str | None = None,
                   form: dict[str, str] | None = None) -> str:
    """The project's page; `error` belongs to the PMC forms."""
    session = db()
    timeline = reports.reports_of(session, project.id)
    today = local_today(org, utcnow())
    chart = chart_of(project.start_date, project.end_date,
                     [(r.received_at, r.progress) for r in timeline], org.timezone, today)
    return render_template(
        "console/project.html", org=org, project=project, timeline=timeline, chart=chart,
        flags=_flags(org).get(project.id, ()), flag_labels=FLAG_LABELS,
        flag_hints=flag_hints(_rules()), members=members_of(session, project.id,
                                                            active_only=False),
        feedback=feedback.feedback_of(session, project.id),
        tickets=_tickets_of(session, project.id), ticket_statuses=notices.STATUS_NAMES,
        verifications=milestones.verifications_of(session, project.id),
        status_labels=STATUS_LABELS, report_labels=REPORT_LABELS, issue_labels=ISSUE_LABELS,
        role_labels=ROLE_LABELS, today=today, error=error, form=form or {})


@bp.route("/orgs/<code>/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def edit_project(code: str, project_id: int) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    project = project_or_404(org, project_id)
    session = db()
    wards = {w.id: w for w in wards_of(session, org.id)}
    if request.method == "GET":
        return _edit_page(org, project, wards, _form_of(project),
                          [str(w.id) for w in project.wards], {})
    form = {name: request.form.get(name, "") for name in FIELDS}
    chosen = request.form.getlist("wards")
    try:
        fields = read_edit(form, chosen, wards)
    except EditRefused as exc:
        return _edit_page(org, project, wards, form, chosen, exc.errors), 400
    changed = apply_edit(project, fields)
    if not changed:
        flash("Nothing changed.")
        return redirect(url_for("console.project_page", code=org.code, project_id=project.id))
    audit.record(session, g.user, "project.edit", "project", project.id,
                 {"code": project.code} | {name: {"from": _plain(old), "to": _plain(new)}
                                           for name, (old, new) in changed.items()},
                 organization_id=org.id)
    session.commit()
    flash(f"Saved {project.code}: {', '.join(name.replace('_', ' ') for name in changed)}.")
    return redirect(url_for("console.project_page", code=org.code, project_id=project.id))


def _form_of(project: Project) -> dict[str, str]:
    def text(value: object) -> str:
        if value is None:
            return ""
        return value.isoformat() if isinstance(value, date) else str(value)

    return {name: text(getattr(project, name)) for name in FIELDS}


def _edit_page(org: Organization, project: Project, wards: dict, form: dict[str, str],
               chosen: list[str], errors: dict[str, str]) -> str:
    return render_template("console/project_edit.html", org=org, project=project, form=form,
                           chosen=set(chosen), wards=sorted(wards.values(),
                                                            key=lambda w: w.name),
                           errors=errors, status_labels=STATUS_LABELS)


def _plain(value: object) -> object:
    """Audit details are JSON: dates as ISO text, statuses as their value."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)  # a StrEnum becomes its plain value
    return value
