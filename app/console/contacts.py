"""The register of residents (officers, admins) and the caller lookup (agents too)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import g, render_template, request

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.console.ticket_forms import caller_desk
from app.db.base import utcnow
from app.db.models import Organization
from app.services import contacts as contact_service
from app.services import overview
from app.tickets.live_calls import calls_for_agents


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
    return render_callers(org, request.args.get("phone", "").strip())


def render_callers(org: Organization, raw: str, ticket_form: dict[str, str] | None = None,
                   ticket_error: str | None = None) -> str | tuple[str, int]:
    """The caller's record and, for the call centre, their tickets and the complaint form."""
    context = {"org": org, "phone": raw, "msisdn": None, "contact": None, "error": None,
               "live_calls": [(call, call.started_at.astimezone(ZoneInfo(org.timezone)))
                              for call in calls_for_agents(db(), org.id, utcnow())]}
    if raw:
        try:
            # Agents type what the caller reads out: 0712..., +254 712..., 254712...
            context["msisdn"] = normalise_msisdn(raw, org.country)
        except InvalidPhoneNumber:
            context["error"] = (f"{raw} is not a valid phone number in {org.country}. "
                                "Type it as 0712 345 678 or +254 712 345 678.")
            return render_template("console/callers.html", **context), 400
        context["contact"] = contact_service.find_contact(db(), org.id, context["msisdn"])
        context |= caller_desk(db(), org, context["msisdn"], g.user, ticket_form, ticket_error)
    if ticket_error and context["msisdn"] is None:
        context["error"] = ticket_error  # no caller to show the form for: say it at the top
    page = render_template("console/callers.html", **context)
    return (page, 400) if ticket_error else page
