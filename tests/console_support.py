"""Console test data and a signed-in test client, made through the product's own services."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app.campaigns import lifecycle
from app.campaigns.audience import Audience
from app.db.models import Place, PmcMember, Project, User
from app.pb import cycles, proposals
from app.runtime import Runtime
from app.services import accounts, organizations, places
from tests import pmc_support
from tests.factories import add_counties
from tests.ticket_support import open_one, ticket

PASSWORD = "correct horse battery"

# A few rows of ../shared/data/kenya_wards.csv per county, exactly as the file has them.
WARD_ROWS = [
    {"county_code": "17", "county_name": "Makueni", "constituency_code": "83",
     "constituency_name": "Mbooni", "ward_code": "0411", "ward_name": "Tulimani"},
    {"county_code": "17", "county_name": "Makueni", "constituency_code": "83",
     "constituency_name": "Mbooni", "ward_code": "0412", "ward_name": "Mbooni"},
    {"county_code": "17", "county_name": "Makueni", "constituency_code": "84",
     "constituency_name": "Kilome", "ward_code": "0417", "ward_name": "Kasikeu"},
    {"county_code": "29", "county_name": "Nandi", "constituency_code": "151",
     "constituency_name": "Tinderet", "ward_code": "0751", "ward_name": "Songhor/Soba"},
]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_rules(app: Flask) -> list[Rule]:
    """Every console route but its static files."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("console.") and rule.endpoint != "console.static"]


def filled(rule: Rule, values: Mapping[str, object]) -> str:
    """The rule's path with each `<argument>` replaced by its value in `values`."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def add_counties_with_places(runtime: Runtime) -> None:
    add_counties(runtime)
    with runtime.sessions.begin() as db:
        for code, county in (("makueni", "Makueni"), ("nandi", "Nandi")):
            org = organizations.organization_by_code(db, code)
            places.import_kenya_wards(db, org.id, WARD_ROWS, county)


def add_user(runtime: Runtime, role: str, org_code: str | None = "makueni",
             email: str | None = None) -> str:
    """A console user with PASSWORD; returns the email to sign in with."""
    email = email or f"{role}@{org_code or 'platform'}.example.org"
    with runtime.sessions.begin() as db:
        org = organizations.organization_by_code(db, org_code) if org_code else None
        accounts.create_user(db, email, f"{role.title()} of {org_code}", role,
                             org.id if org else None, PASSWORD)
    return email


def ward_id(runtime: Runtime, org_code: str, ward_code: str) -> int:
    with runtime.sessions() as db:
        org = organizations.organization_by_code(db, org_code)
        place: Place = places.place_by_code(db, org.id, ward_code)
        return place.id


def csrf_token(client: FlaskClient, path: str) -> str:
    """The token a page's form carries, as a browser would read it."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD,
           next_path: str | None = None) -> TestResponse:
    login = "/console/login" + (f"?next={next_path}" if next_path else "")
    return client.post(login, data={"csrf_token": csrf_token(client, "/console/login"),
                                     "email": email, "password": password})


def add_one_of_each(runtime: Runtime, monkeypatch) -> dict[str, int]:
    """In Makueni (with add_counties_with_places done): a row of each kind a console path
    takes an id of, through the product's services; returns {path argument: id}."""
    with runtime.sessions.begin() as db:
        org = organizations.organization_by_code(db, "makueni")
        places.import_kenya_wards(db, org.id, pmc_support.WARDS, "Makueni")
    pmc_support.import_fixtures(runtime, monkeypatch)  # projects and their PMC members
    officer = add_user(runtime, "officer", "makueni", email="ids-officer@makueni.example.org")
    reference = open_one(runtime, org_code="makueni", notify=False)
    with runtime.sessions.begin() as db:
        org = organizations.organization_by_code(db, "makueni")
        cycle = cycles.create_cycle(db, organization_id=org.id, name="Tulimani 2026/27",
                                    round_name="2026/27", budget=700_000,
                                    place=places.place_by_code(db, org.id, "0411"),
                                    ballot_type="approval")
        proposal = proposals.add_proposal(db, cycle, title="Borehole", cost=400_000)
        campaign = lifecycle.create(db, org, accounts.user_by_email(db, officer), "Forum",
                                    {"en": "Forum on Monday"}, Audience(everyone=True))
        project = db.scalar(select(Project).where(Project.organization_id == org.id))
        member = db.scalar(select(PmcMember).where(PmcMember.project_id == project.id))
        user = db.scalar(select(User).where(User.email == officer))
        db.flush()
        return {"cycle_id": cycle.id, "proposal_id": proposal.id, "campaign_id": campaign.id,
                "project_id": project.id, "member_id": member.id, "user_id": user.id,
                "ticket_id": ticket(db, reference).id,
                "place_id": ward_id(runtime, "makueni", "0411")}
