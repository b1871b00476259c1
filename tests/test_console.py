"""The console through Flask's test client: sign-in, CSRF, each role's pages, organization walls."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.db.models import AuditEntry, Place, User
from tests.console_support import (
    PASSWORD,
    add_counties_with_places,
    add_user,
    csrf_token,
    log_in,
    ward_id,
)
from tests.factories import MAKUENI_USSD, add_contact


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties_with_places(runtime)


def signed_in(client, runtime, role: str, org_code: str | None = "makueni"):
    response = log_in(client, add_user(runtime, role, org_code))
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def nav_links(html: str) -> set[str]:
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r">([^<>]+)</a>", nav))


# --- signing in and out -------------------------------------------------------------------

def test_right_password_signs_in_and_lists_own_organization(client, runtime):
    response = log_in(client, add_user(runtime, "officer"))
    assert response.status_code == 302 and response.location == "/console/"
    home = client.get("/console/")
    assert home.status_code == 200
    assert "Makueni County" in text(home) and "Nandi County" not in text(home)


@pytest.mark.parametrize("email", ["officer@makueni.example.org", "nobody@example.org"])
def test_wrong_password_or_unknown_email_gets_one_message(client, runtime, email):
    add_user(runtime, "officer")
    response = log_in(client, email, password="wrong password!")
    assert response.status_code == 401
    assert "Wrong email or password." in text(response)
    assert client.get("/console/").status_code == 302  # still signed out


def test_email_is_matched_whatever_its_case(client, runtime):
    add_user(runtime, "officer")
    assert log_in(client, "  Officer@Makueni.Example.ORG ").status_code == 302


def test_pages_send_strangers_to_login_and_back(client, runtime):
    response = client.get("/console/orgs/makueni/places")
    assert response.status_code == 302
    assert response.location == "/console/login?next=/console/orgs/makueni/places"
    email = add_user(runtime, "officer")
    after = log_in(client, email, next_path="/console/orgs/makueni/places")
    assert after.location == "/console/orgs/makueni/places"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console/",
                                    "/simulator/", "/\\evil.example"])
def test_login_never_redirects_off_the_console(client, runtime, target):
    email = add_user(runtime, "officer")
    assert log_in(client, email, next_path=target).location == "/console/"


def test_login_starts_a_fresh_session(client, runtime):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    log_in(client, add_user(runtime, "officer"))
    with client.session_transaction() as session:
        assert "planted" not in session and isinstance(session["user_id"], int)


def test_logout_is_a_protected_post(client, runtime):
    signed_in(client, runtime, "officer")
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 400  # no CSRF token
    token = csrf_token(client, "/console/")
    response = client.post("/console/logout", data={"csrf_token": token})
    assert response.location == "/console/login"
    assert client.get("/console/").status_code == 302


def test_deactivated_user_is_signed_out_on_next_request(client, runtime):
    signed_in(client, runtime, "officer")
    with runtime.sessions.begin() as db:
        db.scalar(select(User)).active = False
    assert client.get("/console/").status_code == 302


# --- CSRF ---------------------------------------------------------------------------------

def test_login_without_csrf_token_is_refused(client, runtime):
    email = add_user(runtime, "officer")
    response = client.post("/console/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from the console" in text(response)


def test_change_without_csrf_token_is_refused(client, runtime):
    signed_in(client, runtime, "officer")
    place = ward_id(runtime, "makueni", "0411")
    response = client.post(f"/console/orgs/makueni/places/{place}/edit", data={"name": "X"})
    assert response.status_code == 400
    with runtime.sessions() as db:
        assert db.get(Place, place).name == "Tulimani"


def test_at_callbacks_need_no_csrf_token(client):
    form = {"sessionId": "ATUid_csrf", "serviceCode": MAKUENI_USSD,
            "phoneNumber": "+254712345678", "networkCode": "63902", "text": ""}
    response = client.post("/at/ussd", data=form)
    assert response.status_code == 200 and text(response).startswith("CON ")


# --- what each role may open --------------------------------------------------------------

ROUTES = ("index", "organization", "places", "edit place", "contacts", "callers", "audit",
          "users")
ACCESS = {  # role -> status per route, in ROUTES order
    "admin": (200, 200, 200, 200, 200, 200, 200, 200),
    "officer": (200, 200, 200, 200, 200, 200, 403, 403),
    "agent": (200, 200, 200, 403, 403, 200, 403, 403),
    "approver": (200, 200, 200, 403, 403, 403, 403, 403),
}
NAV = {
    "admin": {"Places", "Contacts", "Budget cycles", "Projects", "Caller lookup", "Audit log",
              "Users", "SMS campaigns", "Tickets", "Ticket dashboard"},
    "officer": {"Places", "Contacts", "Budget cycles", "Projects", "Caller lookup",
                "SMS campaigns", "Tickets"},
    "agent": {"Places", "Budget cycles", "Projects", "Caller lookup", "Tickets"},
    "approver": {"Places", "Budget cycles", "SMS campaigns"},
}


def org_paths(runtime, org_code: str = "makueni") -> dict[str, str]:
    base = f"/console/orgs/{org_code}"
    place = ward_id(runtime, org_code, "0411" if org_code == "makueni" else "0751")
    return {"index": "/console/", "organization": base, "places": f"{base}/places",
            "edit place": f"{base}/places/{place}/edit", "contacts": f"{base}/contacts",
            "callers": f"{base}/callers", "audit": f"{base}/audit", "users": f"{base}/users"}


@pytest.mark.parametrize("role", list(ACCESS))
def test_each_role_reaches_exactly_its_pages(client, runtime, role):
    signed_in(client, runtime, role)
    paths = org_paths(runtime)
    got = {route: client.get(paths[route]).status_code for route in ROUTES}
    assert got == dict(zip(ROUTES, ACCESS[role], strict=True))
    links = nav_links(text(client.get(paths["organization"])))
    assert links - {"Organizations", "Makueni County"} == NAV[role]
    edit_links = "Rename" in text(client.get(paths["places"]))
    assert edit_links == (role in {"admin", "officer"})


@pytest.mark.parametrize(("role", "route"), [("agent", "edit place"), ("approver", "edit place"),
                                             ("officer", "users"), ("agent", "users")])
def test_forbidden_posts_change_nothing(client, runtime, role, route):
    signed_in(client, runtime, role)
    token = csrf_token(client, "/console/")
    data = {"csrf_token": token, "name": "Renamed", "email": "x@example.org",
            "role": "admin", "password": "long enough password"}
    assert client.post(org_paths(runtime)[route], data=data).status_code == 403
    with runtime.sessions() as db:
        assert db.scalar(select(User).where(User.email == "x@example.org")) is None
        assert db.scalar(select(Place).where(Place.name == "Renamed")) is None
        assert db.scalars(select(AuditEntry)).all() == []


def test_platform_admin_sees_every_organization(client, runtime):
    signed_in(client, runtime, "admin", org_code=None)
    home = text(client.get("/console/"))
    assert "Makueni County" in home and "Nandi County" in home
    for org_code in ("makueni", "nandi"):
        paths = org_paths(runtime, org_code)
        assert {client.get(p).status_code for p in paths.values()} == {200}


# --- organizations never leak into each other ---------------------------------------------

@pytest.mark.parametrize("role", ["officer", "admin"])
def test_other_organizations_pages_are_not_found(client, runtime, role):
    signed_in(client, runtime, role, org_code="nandi")
    paths = org_paths(runtime, "makueni")
    for route in ("organization", "places", "edit place", "contacts", "callers"):
        assert client.get(paths[route]).status_code == 404, route
    if role == "admin":
        assert client.get(paths["audit"]).status_code == 404
        assert client.get(paths["users"]).status_code == 404
    # the same answer as for an organization that does not exist
    assert client.get("/console/orgs/nowhere").status_code == 404
    # nor can a Makueni place be reached through Nandi's own pages
    makueni_ward = ward_id(runtime, "makueni", "0411")
    through_nandi = f"/console/orgs/nandi/places/{makueni_ward}/edit"
    assert client.get(through_nandi).status_code == 404
    token = csrf_token(client, "/console/orgs/nandi/places")
    for path in (paths["edit place"], through_nandi):
        assert client.post(path, data={"csrf_token": token, "name": "Taken"}).status_code == 404
    with runtime.sessions() as db:
        assert db.get(Place, makueni_ward).name == "Tulimani"
    assert "Makueni" not in text(client.get("/console/"))


def test_other_organizations_contacts_are_not_looked_up(client, runtime):
    add_contact(runtime, "makueni", "+254712345678", "en")
    signed_in(client, runtime, "agent", org_code="nandi")
    page = text(client.get("/console/orgs/nandi/callers?phone=0712345678"))
    assert "No record for +254712345678 in Nandi County." in page


# --- pages and their changes --------------------------------------------------------------

def test_organization_page_shows_channels_and_counts(client, runtime):
    add_contact(runtime, "nandi", "+254712345678", "sw")
    signed_in(client, runtime, "agent", org_code="nandi")
    page = text(client.get("/console/orgs/nandi"))
    for expected in ("Nandi County", "KES", "sw, en", "*483*2#", "1548", "+254711082548",
                     "Places: county</th><td class=\"num\">1",
                     "Places: subcounty</th><td class=\"num\">1",
                     "Places: ward</th><td class=\"num\">1",
                     "Contacts</th><td class=\"num\">1"):
        assert expected in page, expected


def test_places_are_listed_county_first(client, runtime):
    signed_in(client, runtime, "officer")
    page = text(client.get("/console/orgs/makueni/places"))
    order = [page.index(name) for name in ("Makueni", "Kilome", "Kasikeu", "Mbooni",
                                           "Tulimani")]
    assert order == sorted(order)


def test_officer_renames_a_place_and_it_is_audited(client, runtime):
    signed_in(client, runtime, "officer")
    place = ward_id(runtime, "makueni", "0411")
    path = f"/console/orgs/makueni/places/{place}/edit"
    response = client.post(path, data={"csrf_token": csrf_token(client, path),
                                        "name": "  Tulimani   Ward "})
    assert response.status_code == 302
    assert "Renamed Tulimani to Tulimani Ward." in text(client.get(response.location))
    with runtime.sessions() as db:
        assert db.get(Place, place).name == "Tulimani Ward"
        entry = db.scalar(select(AuditEntry))
        officer = db.scalar(select(User).where(User.role == "officer"))
        assert (entry.action, entry.entity, entry.entity_id) == ("place.rename", "place",
                                                                 str(place))
        assert entry.user_id == officer.id
        assert entry.organization_id == officer.organization_id
        assert entry.detail == {"kind": "ward", "code": "0411", "from": "Tulimani",
                                "to": "Tulimani Ward"}


def test_blank_place_name_is_refused_without_audit(client, runtime):
    signed_in(client, runtime, "officer")
    path = f"/console/orgs/makueni/places/{ward_id(runtime, 'makueni', '0411')}/edit"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "name": "   "})
    assert response.status_code == 400 and "1 to 120 characters" in text(response)
    with runtime.sessions() as db:
        assert db.scalars(select(AuditEntry)).all() == []


def test_admin_creates_a_user_and_reads_it_in_the_audit_log(client, runtime):
    signed_in(client, runtime, "admin")
    path = "/console/orgs/makueni/users"
    form = {"csrf_token": csrf_token(client, path), "email": "Agent.Two@Makueni.example.org",
            "name": "Agent Two", "role": "agent", "password": "ten chars!!"}
    response = client.post(path, data=form)
    assert response.status_code == 302
    assert "agent.two@makueni.example.org" in text(client.get(path))
    with runtime.sessions() as db:
        user = db.scalar(select(User).where(User.email == "agent.two@makueni.example.org"))
        assert user.role == "agent" and user.organization.code == "makueni"
        assert user.password_hash.startswith("scrypt:")
    log = text(client.get("/console/orgs/makueni/audit"))
    assert "user.create" in log and "admin@makueni.example.org" in log
    assert "ten chars" not in log
    # the new agent can sign in
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert log_in(client, "agent.two@makueni.example.org", "ten chars!!").status_code == 302


@pytest.mark.parametrize(("change", "message"), [
    ({"password": "short"}, "at least 10 characters"),
    ({"email": "admin@makueni.example.org"}, "already exists"),
    ({"role": "superuser"}, "role must be one of"),
    ({"email": "not-an-email"}, "not an email address"),
])
def test_user_form_explains_what_is_wrong(client, runtime, change, message):
    signed_in(client, runtime, "admin")
    path = "/console/orgs/makueni/users"
    form = {"csrf_token": csrf_token(client, path), "email": "new@makueni.example.org",
            "name": "New", "role": "officer", "password": "long enough password"} | change
    response = client.post(path, data=form)
    assert response.status_code == 400 and message in text(response)
    with runtime.sessions() as db:
        assert len(db.scalars(select(User)).all()) == 1
        assert db.scalars(select(AuditEntry)).all() == []


def test_audit_log_is_newest_first(client, runtime):
    signed_in(client, runtime, "admin")
    for name in ("First name", "Second name"):
        path = f"/console/orgs/makueni/places/{ward_id(runtime, 'makueni', '0411')}/edit"
        client.post(path, data={"csrf_token": csrf_token(client, path), "name": name})
    log = text(client.get("/console/orgs/makueni/audit"))
    assert log.index("to: Second name") < log.index("to: First name")


def test_contacts_show_full_numbers_a_page_at_a_time(client, runtime):
    for n in range(51):
        add_contact(runtime, "makueni", f"+2547123456{n:02d}", "en")
    signed_in(client, runtime, "officer")
    first = text(client.get("/console/orgs/makueni/contacts"))
    assert "+254712345650" in first and "+254712345600" not in first  # newest first
    assert 'rel="next"' in first
    second = text(client.get("/console/orgs/makueni/contacts?page=2"))
    assert "+254712345600" in second and 'rel="next"' not in second


@pytest.mark.parametrize("typed", ["0712 345 678", "+254712345678", "254712345678",
                                   "+254 712-345-678"])
def test_agent_looks_up_a_caller(client, runtime, typed):
    add_contact(runtime, "makueni", "+254712345678", "sw")
    signed_in(client, runtime, "agent")
    page = client.get("/console/orgs/makueni/callers", query_string={"phone": typed})
    assert page.status_code == 200
    assert "+254712345678" in text(page) and "<dd>sw</dd>" in text(page)


def test_caller_lookup_without_a_record_or_with_a_bad_number(client, runtime):
    signed_in(client, runtime, "agent")
    missing = client.get("/console/orgs/makueni/callers?phone=0722000111")
    assert "No record for +254722000111 in Makueni County." in text(missing)
    invalid = client.get("/console/orgs/makueni/callers?phone=12345")
    assert invalid.status_code == 400
    assert "12345 is not a valid phone number in KE." in text(invalid)


def test_console_pages_are_not_cached_or_framed(client, runtime):
    signed_in(client, runtime, "officer")
    response = client.get("/console/orgs/makueni/contacts")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
