"""An organization's console users, and creating one (admins only, audited)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.channels.phone import InvalidPhoneNumber, mask, normalise_msisdn
from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import Organization, Role, User
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


@bp.post("/orgs/<code>/users/<int:user_id>/phone")
@login_required(roles=ROLES[Permission.MANAGE_USERS])
def set_user_phone(code: str, user_id: int) -> Response | tuple[str, int]:
    """A user's phone: where escalations (supervisors) and ticket notices reach them by SMS."""
    org = organization_or_404(code)
    session = db()
    user = session.get(User, user_id)
    if user is None or user.organization_id != org.id:
        abort(404)
    raw = request.form.get("msisdn", "").strip()
    try:
        msisdn = normalise_msisdn(raw, org.country) if raw else None
    except InvalidPhoneNumber:
        return _page(org, form={}, error=None,
                     phone_error=f"{raw} is not a valid phone number in {org.country}."), 400
    if msisdn == user.msisdn:
        flash("Nothing changed.")
        return redirect(url_for("console.users", code=org.code))
    audit.record(session, g.user, "user.phone", "user", user.id,
                 {"email": user.email, "phone": mask(msisdn) if msisdn else None},
                 organization_id=org.id)
    user.msisdn = msisdn
    session.commit()
    flash(f"{user.name}: phone {'set to ' + msisdn if msisdn else 'removed'}.")
    return redirect(url_for("console.users", code=org.code))


def _page(org: Organization, form: dict[str, str], error: str | None,
          phone_error: str | None = None) -> str:
    return render_template("console/users.html", org=org, form=form, error=error,
                           phone_error=phone_error, roles=list(Role),
                           users=accounts.users_of(db(), org.id))
