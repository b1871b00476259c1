"""An organization's audit log, newest first (admins only)."""

from __future__ import annotations

from flask import render_template, request

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.services import audit


@bp.get("/orgs/<code>/audit")
@login_required(roles=ROLES[Permission.VIEW_AUDIT])
def audit_log(code: str) -> str:
    org = organization_or_404(code)
    page = audit.entries_of(db(), org.id, request.args.get("page", 1, type=int))
    return render_template("console/audit.html", org=org, page=page)
