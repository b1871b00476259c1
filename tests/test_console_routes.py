"""Every console route, every role: driven by app.url_map and the permissions table.

A new console route fails here until it is added to ENDPOINTS with the permission it checks;
one taking a new kind of id, until makueni_ids can make a row of that kind.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.console.permissions import ROLES, Permission
from app.db.models import AuditEntry, Role
from tests.console_support import (
    add_counties_with_places,
    add_one_of_each,
    add_user,
    console_rules,
    csrf_token,
    filled,
    log_in,
    ward_id,
)

PUBLIC, SIGNED_IN = "public", "signed in"

ENDPOINTS: dict[str, Permission | str] = {
    "console.login": PUBLIC,
    "console.logout": PUBLIC,
    "console.index": SIGNED_IN,
    "console.organization": Permission.VIEW_ORGANIZATION,
    "console.places": Permission.VIEW_PLACES,
    "console.edit_place": Permission.EDIT_PLACES,
    "console.contacts": Permission.VIEW_CONTACTS,
    "console.callers": Permission.LOOKUP_CALLERS,
    "console.audit_log": Permission.VIEW_AUDIT,
    "console.users": Permission.MANAGE_USERS,
    "console.cycle_list": Permission.VIEW_CYCLES,
    "console.new_cycle": Permission.MANAGE_CYCLES,
    "console.cycle_page": Permission.VIEW_CYCLES,
    "console.move_cycle": Permission.MANAGE_CYCLES,
    "console.add_proposal": Permission.MANAGE_CYCLES,
    "console.review_proposal": Permission.MANAGE_CYCLES,
    "console.cycle_results": Permission.VIEW_RESULTS,
    "console.cycle_turnout": Permission.VIEW_TURNOUT,
    "console.project_list": Permission.VIEW_PROJECTS,
    "console.project_page": Permission.VIEW_PROJECTS,
    "console.edit_project": Permission.MANAGE_PROJECTS,
    "console.import_page": Permission.MANAGE_PROJECTS,
    "console.import_projects": Permission.MANAGE_PROJECTS,
    "console.import_members": Permission.MANAGE_PROJECTS,
    "console.add_member": Permission.MANAGE_PROJECTS,
    "console.change_member_role": Permission.MANAGE_PROJECTS,
    "console.stand_down_member": Permission.MANAGE_PROJECTS,
    "console.export_reports": Permission.EXPORT_PROJECTS,
    "console.export_project_reports": Permission.EXPORT_PROJECTS,
    "console.export_oc4ids": Permission.EXPORT_PROJECTS,
    "console.campaign_list": Permission.VIEW_CAMPAIGNS,
    "console.new_campaign": Permission.MANAGE_CAMPAIGNS,
    "console.campaign_page": Permission.VIEW_CAMPAIGNS,
    "console.campaign_progress": Permission.VIEW_CAMPAIGNS,
    "console.approve_campaign": Permission.APPROVE_CAMPAIGNS,
    "console.change_campaign": Permission.MANAGE_CAMPAIGNS,
    "console.set_user_phone": Permission.MANAGE_USERS,
    "console.log_ticket": Permission.LOG_TICKETS,
    "console.ticket_list": Permission.VIEW_TICKETS,
    "console.ticket_page": Permission.VIEW_TICKETS,
    "console.assign_ticket": Permission.WORK_TICKETS,
    "console.change_ticket_status": Permission.WORK_TICKETS,
    "console.change_ticket_priority": Permission.WORK_TICKETS,
    "console.comment_ticket": Permission.WORK_TICKETS,
    "console.ticket_dashboard": Permission.SUPERVISE_TICKETS,
}
MISSING_ID = 999_999  # cycles, projects, members, proposals: the role check comes first


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties_with_places(runtime)


def test_every_console_route_has_a_permission_entry(app):
    endpoints = {rule.endpoint for rule in console_rules(app)}
    assert endpoints - set(ENDPOINTS) == set(), "add the new routes to ENDPOINTS"
    assert set(ENDPOINTS) - endpoints == set(), "remove routes that no longer exist"


def test_each_view_checks_the_roles_of_its_permission(app):
    for endpoint, permission in ENDPOINTS.items():
        declared = getattr(app.view_functions[endpoint], "required_roles", PUBLIC)
        if permission == PUBLIC:
            assert declared == PUBLIC, endpoint
        elif permission == SIGNED_IN:
            assert declared is None, endpoint
        else:
            assert declared == ROLES[permission], endpoint


def path_of(rule, runtime, org_code: str) -> str:
    values = {}
    for name in rule.arguments:
        if name == "code":
            values[name] = org_code
        elif name == "place_id":
            values[name] = ward_id(runtime, org_code, "0411" if org_code == "makueni" else "0751")
        else:
            values[name] = MISSING_ID
    return filled(rule, values)


def request_each(client, app, runtime, org_code: str = "makueni"
                 ) -> dict[tuple[str, str], int | str]:
    """Each console route's status by (endpoint, method), GET and POST where it takes both
    (the POST with a valid token and an empty form); "login" for a redirect to sign-in."""
    signed_in = client.get("/console/login").status_code == 302
    token = csrf_token(client, "/console/" if signed_in else "/console/login")
    statuses = {}
    for rule in console_rules(app):
        if rule.endpoint in ("console.login", "console.logout"):
            continue
        path = path_of(rule, runtime, org_code)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = (client.get(path) if method == "GET"
                        else client.post(path, data={"csrf_token": token}))
            to_login = (response.status_code == 302
                        and response.location.startswith("/console/login"))
            statuses[rule.endpoint, method] = "login" if to_login else response.status_code
    return statuses


def test_strangers_are_sent_to_sign_in_everywhere(client, app, runtime):
    statuses = request_each(client, app, runtime)
    assert set(statuses.values()) == {"login"}, statuses


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_gets_exactly_what_the_table_allows(client, app, runtime, role):
    assert log_in(client, add_user(runtime, role)).status_code == 302
    statuses = request_each(client, app, runtime)
    for (endpoint, method), status in statuses.items():
        permission = ENDPOINTS[endpoint]
        allowed = permission == SIGNED_IN or Role(role) in ROLES[permission]
        if allowed:
            assert status not in ("login", 403) and status < 500, (endpoint, method, status)
        else:
            assert status == 403, (endpoint, method, status)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_another_organizations_routes_are_not_found(client, app, runtime, role):
    assert log_in(client, add_user(runtime, role, "nandi")).status_code == 302
    statuses = request_each(client, app, runtime, "makueni")
    for (endpoint, method), status in statuses.items():
        permission = ENDPOINTS[endpoint]
        if permission == SIGNED_IN:
            assert status == 200, endpoint
        elif Role(role) in ROLES[permission]:
            assert status == 404, (endpoint, method, status)  # as if Makueni did not exist
        else:
            assert status == 403, (endpoint, method, status)


@pytest.fixture
def makueni_ids(runtime, monkeypatch) -> dict[str, int]:
    """A real Makueni row for each kind of id a console path takes. A route taking a new
    kind fails the test below until add_one_of_each makes one."""
    return add_one_of_each(runtime, monkeypatch)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_another_organizations_ids_are_not_found_through_ones_own_pages(
        client, app, runtime, makueni_ids, role):
    """Signed in to Nandi, every console path that takes ids, GET and POST, with Makueni's
    ids in Nandi's own path: as if they did not exist, and nothing changes."""
    assert log_in(client, add_user(runtime, role, "nandi")).status_code == 302
    token = csrf_token(client, "/console/")
    with runtime.sessions() as db:
        audited = db.scalar(select(func.count()).select_from(AuditEntry))
    tried = 0
    for rule in console_rules(app):
        permission = ENDPOINTS[rule.endpoint]
        if not rule.arguments - {"code"} or Role(role) not in ROLES.get(permission, ()):
            continue
        path = filled(rule, {**makueni_ids, "code": "nandi"})
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = (client.get(path) if method == "GET"
                        else client.post(path, data={"csrf_token": token}))
            assert response.status_code == 404, (rule.endpoint, method, response.status_code)
            tried += 1
    assert tried, "the role reaches no page with ids: the test proves nothing for it"
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == audited
