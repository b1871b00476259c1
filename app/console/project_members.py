"""A project's PMC in the console: seating a member, a new role, standing down (audited).

Audit entries carry the member's masked phone, never the full number.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from app.channels.phone import mask
from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.projects import ROLE_LABELS, project_or_404, render_project
from app.console.request_db import db
from app.db.models import Organization, PmcMember, Project
from app.pmc import seats
from app.services import audit

MEMBER_FIELDS = ("name", "phone", "role")


@bp.post("/orgs/<code>/projects/<int:project_id>/members")
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def add_member(code: str, project_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    project = project_or_404(org, project_id)
    form = {key: request.form.get(key, "").strip() for key in MEMBER_FIELDS}
    session = db()
    try:
        seated = seats.seat_member(session, org, project, form["phone"], form["name"],
                                   form["role"])
    except seats.SeatRefused as exc:
        session.rollback()
        return render_project(org, project, error=f"Cannot add the member: {exc}.",
                              form=form), 400
    member = seated.member
    audit.record(session, g.user, "pmc.add" if seated.created else "pmc.reseat", "pmc_member",
                 member.id, {"project": project.code, "name": member.name,
                             "phone": mask(member.msisdn), "role": str(member.role)},
                 organization_id=org.id)
    session.commit()
    verb = "Added" if seated.created else "Seated again"
    flash(f"{verb} {member.name} ({ROLE_LABELS[member.role].lower()}) on the PMC of "
          f"{project.code}.")
    return _back(org, project)


@bp.post("/orgs/<code>/projects/<int:project_id>/members/<int:member_id>/role")
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def change_member_role(code: str, project_id: int, member_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    project = project_or_404(org, project_id)
    member = _member_or_404(project, member_id)
    session, before = db(), str(member.role)
    try:
        seats.change_role(session, member, request.form.get("role", ""))
    except seats.SeatRefused as exc:
        session.rollback()
        return render_project(org, project, error=f"Cannot change the role: {exc}."), 400
    if str(member.role) == before:
        flash(f"{member.name} is {ROLE_LABELS[member.role].lower()} already.")
        return _back(org, project)
    audit.record(session, g.user, "pmc.role", "pmc_member", member.id,
                 {"project": project.code, "name": member.name, "from": before,
                  "to": str(member.role)}, organization_id=org.id)
    session.commit()
    flash(f"{member.name} is now {ROLE_LABELS[member.role].lower()} of the PMC of "
          f"{project.code}.")
    return _back(org, project)


@bp.post("/orgs/<code>/projects/<int:project_id>/members/<int:member_id>/stand-down")
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def stand_down_member(code: str, project_id: int, member_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    project = project_or_404(org, project_id)
    member = _member_or_404(project, member_id)
    session = db()
    try:
        seats.stand_down(member)
    except seats.SeatRefused as exc:
        session.rollback()
        return render_project(org, project, error=f"Cannot stand down: {exc}."), 400
    audit.record(session, g.user, "pmc.stand_down", "pmc_member", member.id,
                 {"project": project.code, "name": member.name, "role": str(member.role)},
                 organization_id=org.id)
    session.commit()
    flash(f"{member.name} stood down from the PMC of {project.code}; their reports stay.")
    return _back(org, project)


def _member_or_404(project: Project, member_id: int) -> PmcMember:
    member = db().get(PmcMember, member_id)
    if member is None or member.project_id != project.id:
        abort(404)
    return member


def _back(org: Organization, project: Project) -> Response:
    return redirect(url_for("console.project_page", code=org.code, project_id=project.id,
                            _anchor="pmc"))
