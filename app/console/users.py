"""An organization's console users, and creating one (admins only, audited)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import Organization, Role
from app.services import accounts, audit


@bp.route("/orgs/<code>/users", methods=["GET", "POST"])
@login_required(roles=ROLES[Permission.MANAGE_USERS])
def users(code: str) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    if request.method == "GET":
        return _page(org, form={}, error=None)
    form = {key: request.form.get(key, "") for key in ("email", "name", "role")}
    session = db()
    try:
        user = accounts.create_user(session, form["email"], form["name"], form["role"], org.id,
                                    request.form.get("password", ""))
    except accounts.AccountError as exc:
        return _page(org, form=form, error=str(exc)), 400
    audit.record(session, g.user, "user.create", "user", user.id,
                 {"email": user.email, "role": str(user.role)}, organization_id=org.id)
    session.commit()
    flash(f"Created {user.role} {user.email}.")
    return redirect(url_for("console.users", code=org.code))


def _page(org: Organization, form: dict[str, str], error: str | None) -> str:
    return render_template("console/users.html", org=org, form=form, error=error,
                           roles=list(Role), users=accounts.users_of(db(), org.id))
