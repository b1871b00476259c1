"""The register of residents (officers, admins) and the caller lookup (agents too)."""

from __future__ import annotations

from flask import render_template, request

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.services import contacts as contact_service
from app.services import overview


@bp.get("/orgs/<code>/contacts")
@login_required(roles=ROLES[Permission.VIEW_CONTACTS])
def contacts(code: str) -> str:
    org = organization_or_404(code)
    page = overview.contacts_page(db(), org.id, request.args.get("page", 1, type=int))
    return render_template("console/contacts.html", org=org, page=page)


@bp.get("/orgs/<code>/callers")
@login_required(roles=ROLES[Permission.LOOKUP_CALLERS])
def callers(code: str) -> str | tuple[str, int]:
    org = organization_or_404(code)
    raw = request.args.get("phone", "").strip()
    context = {"org": org, "phone": raw, "msisdn": None, "contact": None, "error": None}
    if raw:
        try:
            # Agents type what the caller reads out: 0712..., +254 712..., 254712...
            context["msisdn"] = normalise_msisdn(raw, org.country)
        except InvalidPhoneNumber:
            context["error"] = (f"{raw} is not a valid phone number in {org.country}. "
                                "Type it as 0712 345 678 or +254 712 345 678.")
            return render_template("console/callers.html", **context), 400
        context["contact"] = contact_service.find_contact(db(), org.id, context["msisdn"])
    return render_template("console/callers.html", **context)
