"""Uploading a projects file or a PMC members CSV in the console (officers, audited).

The same readers as `baraza projects import` and `baraza pmc import`, all or nothing: with any
problem the page lists each with its line and nothing is written.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from app.console.access import SESSION_KEY, login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import Organization
from app.pmc.imports import ImportRefused, ImportSummary, Problem, WardIndex, apply_projects
from app.pmc.member_import import apply_members, read_members_csv
from app.pmc.project_files import FORMATS, decode, read_projects_file
from app.services import audit

MAX_UPLOAD = 5 * 1024 * 1024  # an OCDS package of a county's year is a few MB
MAX_WARNINGS = 20  # shown after an import; the rest are counted
FORMAT_LABELS = {"auto": "Tell from the file", "csv": "Projects CSV",
                 "ocds": "OCDS release or record package (JSON)",
                 "oc4ids": "OC4IDS project package (JSON)"}
UPLOADS = {"console.import_projects", "console.import_members"}


@bp.url_value_preprocessor
def allow_uploads(endpoint: str | None, _values: dict | None) -> None:
    # Runs before the CSRF check reads the body: a signed-in user's upload may be larger than
    # the app-wide limit that keeps AT's small forms cheap.
    if endpoint in UPLOADS and isinstance(session.get(SESSION_KEY), int):
        request.max_content_length = MAX_UPLOAD


@bp.get("/orgs/<code>/projects/import")
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def import_page(code: str) -> str:
    return _page(organization_or_404(code))


@bp.post("/orgs/<code>/projects/import/projects")
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def import_projects(code: str) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    upload = request.files.get("file")
    fmt = request.form.get("format", "auto")
    session_db = db()
    try:
        text = _text_of(upload)
        records = read_projects_file(text, fmt, org, WardIndex(session_db, org.id))
        summary = apply_projects(session_db, org, records)
    except ImportRefused as exc:
        session_db.rollback()
        return _page(org, problems=exc.problems, failed="projects", fmt=fmt), 400
    name = _name_of(upload)
    audit.record(session_db, g.user, "projects.import", "organization", org.id,
                 {"file": name, "format": fmt, "projects": len(records),
                  "created": summary.created, "updated": summary.updated,
                  "unchanged": summary.unchanged}, organization_id=org.id)
    session_db.commit()
    _flash_summary(f"Imported {len(records)} projects from {name}: {summary}.", summary)
    return redirect(url_for("console.import_page", code=org.code))


@bp.post("/orgs/<code>/projects/import/members")
@login_required(roles=ROLES[Permission.MANAGE_PROJECTS])
def import_members(code: str) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    upload = request.files.get("file")
    replace = request.form.get("replace") == "yes"
    session_db = db()
    try:
        records = read_members_csv(session_db, org, _text_of(upload))
        summary = apply_members(session_db, org, records, replace=replace)
    except ImportRefused as exc:
        session_db.rollback()
        return _page(org, problems=exc.problems, failed="members", replace=replace), 400
    name = _name_of(upload)
    projects = len({r.project.code for r in records})
    audit.record(session_db, g.user, "pmc.import", "organization", org.id,
                 {"file": name, "replace": replace, "members": len(records),
                  "projects": projects, "created": summary.created,
                  "updated": summary.updated, "unchanged": summary.unchanged,
                  "deactivated": summary.deactivated}, organization_id=org.id)
    session_db.commit()
    _flash_summary(f"Imported {len(records)} PMC members of {projects} projects from {name}: "
                   f"{summary}.", summary)
    return redirect(url_for("console.import_page", code=org.code))


def _text_of(upload: FileStorage | None) -> str:
    if upload is None or not upload.filename:
        raise ImportRefused([Problem("file", "choose a file to upload")])
    return decode(upload.read())


def _name_of(upload: FileStorage | None) -> str:
    # Only for messages and the audit log: never used as a path.
    return (upload.filename if upload is not None and upload.filename else "the file")[-120:]


def _flash_summary(message: str, summary: ImportSummary) -> None:
    flash(message)
    for warning in summary.warnings[:MAX_WARNINGS]:
        flash(f"Warning: {warning}.")
    if len(summary.warnings) > MAX_WARNINGS:
        flash(f"... and {len(summary.warnings) - MAX_WARNINGS} more warnings.")


def _page(org: Organization, problems: list[Problem] | None = None, failed: str | None = None,
          fmt: str = "auto", replace: bool = False) -> str:
    return render_template("console/project_import.html", org=org, problems=problems or [],
                           failed=failed, fmt=fmt if fmt in FORMATS else "auto",
                           formats=FORMAT_LABELS, replace=replace, max_mb=MAX_UPLOAD // 2**20)
