"""Downloads of project monitoring data: the reports CSV and the OC4IDS project package.

Columns of the CSV: `app.pmc.report_export`; fields of the package: `app.pmc.oc4ids_export`.
"""

from __future__ import annotations

import json

from flask import Response, flash, redirect, url_for
from sqlalchemy import func, select

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.projects import project_or_404
from app.console.request_db import db
from app.db.base import utcnow
from app.db.models import Organization, Project
from app.pmc.oc4ids_export import oc4ids_package
from app.pmc.report_export import reports_csv
from app.pmc.warnings import local_today


@bp.get("/orgs/<code>/projects/reports.csv")
@login_required(roles=ROLES[Permission.EXPORT_PROJECTS])
def export_reports(code: str) -> Response:
    org = organization_or_404(code)
    return _download(reports_csv(db(), org), "text/csv",
                     f"{org.code}-pmc-reports-{_today(org)}.csv")


@bp.get("/orgs/<code>/projects/<int:project_id>/reports.csv")
@login_required(roles=ROLES[Permission.EXPORT_PROJECTS])
def export_project_reports(code: str, project_id: int) -> Response:
    org = organization_or_404(code)
    project = project_or_404(org, project_id)
    return _download(reports_csv(db(), org, project.id), "text/csv",
                     f"{org.code}-{project.code}-pmc-reports-{_today(org)}.csv")


@bp.get("/orgs/<code>/projects/oc4ids.json")
@login_required(roles=ROLES[Permission.EXPORT_PROJECTS])
def export_oc4ids(code: str) -> Response:
    org = organization_or_404(code)
    session = db()
    if not session.scalar(select(func.count(Project.id))
                          .where(Project.organization_id == org.id)):
        # An OC4IDS package holds at least one project.
        flash("There are no projects to export yet.")
        return redirect(url_for("console.project_list", code=org.code))
    uri = url_for("console.export_oc4ids", code=org.code, _external=True)
    package = oc4ids_package(session, org, uri, utcnow())
    return _download(json.dumps(package, ensure_ascii=False, indent=2) + "\n",
                     "application/json", f"{org.code}-oc4ids-{_today(org)}.json")


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _today(org: Organization) -> str:
    return local_today(org, utcnow()).isoformat()
