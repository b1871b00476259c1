"""The list of organizations a user may open, and one organization's overview."""

from __future__ import annotations

from flask import g, render_template

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import Channel
from app.services import accounts, overview


@bp.get("/")
@login_required()
def index() -> str:
    return render_template("console/index.html",
                           organizations=accounts.organizations_of(db(), g.user))


@bp.get("/orgs/<code>")
@login_required(roles=ROLES[Permission.VIEW_ORGANIZATION])
def organization(code: str) -> str:
    org = organization_or_404(code)
    addresses = [(label, org.addresses_for(channel)) for label, channel in (
        ("USSD codes", Channel.USSD), ("SMS short codes", Channel.SMS),
        ("Voice numbers", Channel.VOICE))]
    return render_template("console/organization.html", org=org, addresses=addresses,
                           counts=overview.counts_of(db(), org.id))
