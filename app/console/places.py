"""An organization's places, and renaming one (audited)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.services import audit, overview
from app.services.places import rename_place


@bp.get("/orgs/<code>/places")
@login_required(roles=ROLES[Permission.VIEW_PLACES])
def places(code: str) -> str:
    org = organization_or_404(code)
    return render_template("console/places.html", org=org,
                           rows=overview.place_tree(db(), org.id))


@bp.route("/orgs/<code>/places/<int:place_id>/edit", methods=["GET", "POST"])
@login_required(roles=ROLES[Permission.EDIT_PLACES])
def edit_place(code: str, place_id: int) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    session = db()
    place = overview.place_of(session, org.id, place_id)
    if place is None:
        abort(404)
    if request.method == "GET":
        return render_template("console/place_edit.html", org=org, place=place,
                               name=place.name, error=None)
    old, wanted = place.name, request.form.get("name", "")
    try:
        rename_place(session, place, wanted)
    except ValueError as exc:
        return render_template("console/place_edit.html", org=org, place=place, name=wanted,
                               error=str(exc)), 400
    if place.name != old:
        audit.record(session, g.user, "place.rename", "place", place.id,
                     {"kind": place.kind, "code": place.code, "from": old, "to": place.name},
                     organization_id=org.id)
        session.commit()
        flash(f"Renamed {old} to {place.name}.")
    else:
        flash("The name did not change.")
    return redirect(url_for("console.places", code=org.code))
