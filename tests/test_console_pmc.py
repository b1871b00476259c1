"""Project monitoring in the console, through Flask's test client: who may see and change what,
organization walls, CSRF, audited edits and PMC changes, uploads, and the two exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db.base import utcnow
from app.db.models import AuditEntry, PmcMember, Project
from app.pmc import feedback, members, milestones, reports
from app.pmc.projects import find_project
from app.pmc.report_export import REPORT_COLUMNS, reports_csv
from app.services import places
from app.services.organizations import organization_by_code
from tests.console_support import WARD_ROWS, add_user, csrf_token, log_in
from tests.pmc_support import OC4IDS_JSON, PMC_CSV, PROJECTS_CSV, add_makueni, import_fixtures

PROJECTS = "/console/orgs/makueni/projects"
CHAIR, SECRETARY, BOTH, MUTUKU = ("+254712345001", "+254712345002", "+254712345003",
                                  "+254722345004")


@pytest.fixture
def pmc(runtime, monkeypatch) -> int:
    """Makueni with tests/data's four projects (MK-101..104) and their PMCs; Makueni's id."""
    organization_id = add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)
    return organization_id


def signed_in(client, runtime, role: str, org_code: str = "makueni"):
    assert log_in(client, add_user(runtime, role, org_code)).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict, page: str | None = None):
    """Post a form with the CSRF token the page carrying it has."""
    return client.post(path, data={"csrf_token": csrf_token(client, page or path)} | data)


def project_id(runtime, org_id: int, code: str) -> int:
    with runtime.sessions() as db:
        return find_project(db, org_id, code).id


def page_of(runtime, org_id: int, code: str) -> str:
    return f"{PROJECTS}/{project_id(runtime, org_id, code)}"


def report(runtime, org_id: int, code: str, msisdn: str, progress: int, status: str,
           *, days_ago: float = 0, comment: str | None = None, channel: str = "sms") -> str:
    """A PMC report as the SMS and USSD handlers record it; returns its reference."""
    with runtime.sessions.begin() as db:
        seat = members.seat_on(db, find_project(db, org_id, code), msisdn)
        return reports.record_report(
            db, seat, channel=channel, progress=progress, status=status, comment=comment,
            received_at=utcnow() - timedelta(days=days_ago)).report.reference


def audit_actions(runtime) -> list[tuple[str, dict]]:
    with runtime.sessions() as db:
        return [(e.action, e.detail) for e in db.scalars(select(AuditEntry)
                                                          .order_by(AuditEntry.id))]


def nav_links(html: str) -> set[str]:
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r">([^<>]+)</a>", nav))


# --- what each role may do -------------------------------------------------------------------

PAGES = ("list", "project", "edit", "import", "reports.csv", "project.csv", "oc4ids")
ACCESS = {  # role -> status per page, in PAGES order
    "admin": (200, 200, 200, 200, 200, 200, 200),
    "officer": (200, 200, 200, 200, 200, 200, 200),
    "agent": (200, 200, 403, 403, 403, 403, 403),
    "approver": (403, 403, 403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("role", list(ACCESS))
def test_each_role_reaches_exactly_its_project_pages(client, runtime, pmc, role):
    signed_in(client, runtime, role)
    page = page_of(runtime, pmc, "MK-101")
    paths = {"list": PROJECTS, "project": page, "edit": f"{page}/edit",
             "import": f"{PROJECTS}/import", "reports.csv": f"{PROJECTS}/reports.csv",
             "project.csv": f"{page}/reports.csv", "oc4ids": f"{PROJECTS}/oc4ids.json"}
    got = {name: client.get(paths[name]).status_code for name in PAGES}
    assert got == dict(zip(PAGES, ACCESS[role], strict=True))
    assert ("Projects" in nav_links(text(client.get("/console/orgs/makueni")))) == (
        role != "approver")
    if role == "approver":
        return
    listing, project = text(client.get(PROJECTS)), text(client.get(page))
    assert "Kalawa market borehole" in listing and "Mwikali Musyoka" in project
    manages = role in {"admin", "officer"}
    assert ("Import projects or PMC members" in listing) == manages
    assert ("Download all PMC reports" in listing) == manages
    assert ("Edit project" in project) == manages
    assert ("Add a member" in project) == manages
    assert ("Stand down" in project) == manages


def test_agents_read_but_change_nothing(client, runtime, pmc):
    signed_in(client, runtime, "agent")
    page = page_of(runtime, pmc, "MK-101")
    token = csrf_token(client, page)
    with runtime.sessions() as db:
        chair_id = members.seat_on(db, db.get(Project, project_id(runtime, pmc, "MK-101")),
                                   CHAIR).id
    attempts = [
        (f"{page}/edit", {"name": "Renamed", "status": "stalled"}),
        (f"{page}/members", {"name": "Sneaky", "phone": "0712000999", "role": "member"}),
        (f"{page}/members/{chair_id}/role", {"role": "member"}),
        (f"{page}/members/{chair_id}/stand-down", {}),
        (f"{PROJECTS}/import/projects", {}),
        (f"{PROJECTS}/import/members", {}),
    ]
    for path, data in attempts:
        assert client.post(path, data={"csrf_token": token} | data).status_code == 403, path
    with runtime.sessions() as db:
        project = find_project(db, pmc, "MK-101")
        assert (project.name, project.status) == ("Kalawa market borehole", "ongoing")
        assert [(m.name, m.role, m.active) for m in members.members_of(db, project.id)] == [
            ("Mwikali Musyoka", "chair", True), ("Kioko Mutua", "secretary", True),
            ("Ndinda Mwende", "member", True)]
    assert audit_actions(runtime) == []


def test_other_organizations_projects_are_not_found(client, runtime, pmc):
    signed_in(client, runtime, "officer", org_code="nandi")
    makueni_id = project_id(runtime, pmc, "MK-101")
    page = f"{PROJECTS}/{makueni_id}"
    for path in (PROJECTS, page, f"{page}/edit", f"{PROJECTS}/import",
                 f"{PROJECTS}/reports.csv", f"{page}/reports.csv", f"{PROJECTS}/oc4ids.json"):
        assert client.get(path).status_code == 404, path
    # nor through Nandi's own pages: the same answer as for a project that never existed
    nandi = f"/console/orgs/nandi/projects/{makueni_id}"
    for path in (nandi, f"{nandi}/edit", f"{nandi}/reports.csv",
                 "/console/orgs/nandi/projects/999999"):
        assert client.get(path).status_code == 404, path
    token = csrf_token(client, "/console/orgs/nandi/projects")
    with runtime.sessions() as db:
        chair_id = members.seat_on(db, db.get(Project, makueni_id), CHAIR).id
    for path, data in ((f"{nandi}/edit", {"name": "Stolen"}),
                       (f"{nandi}/members", {"name": "X", "phone": "0712000999"}),
                       (f"{nandi}/members/{chair_id}/stand-down", {}),
                       (f"/console/orgs/nandi/projects/{makueni_id}/members/{chair_id}/role",
                        {"role": "member"})):
        assert client.post(path, data={"csrf_token": token} | data).status_code == 404, path
    # Nandi's own list is empty, and its exports hold nothing of Makueni's
    assert "No projects yet." in text(client.get("/console/orgs/nandi/projects"))
    exported = text(client.get("/console/orgs/nandi/projects/reports.csv"))
    assert exported.splitlines() == [",".join(REPORT_COLUMNS)]
    with runtime.sessions() as db:
        assert db.get(Project, makueni_id).name == "Kalawa market borehole"
        assert members.seat_on(db, db.get(Project, makueni_id), CHAIR).active
    assert audit_actions(runtime) == []


def test_a_member_of_another_project_is_not_found(client, runtime, pmc):
    signed_in(client, runtime, "officer")
    with runtime.sessions() as db:
        mutuku = members.seat_on(db, find_project(db, pmc, "MK-102"), MUTUKU).id
    page = page_of(runtime, pmc, "MK-101")
    response = post(client, f"{page}/members/{mutuku}/stand-down", {}, page=page)
    assert response.status_code == 404
    with runtime.sessions() as db:
        assert db.get(PmcMember, mutuku).active


def test_posts_without_a_csrf_token_are_refused(client, runtime, pmc):
    signed_in(client, runtime, "officer")
    page = page_of(runtime, pmc, "MK-101")
    with runtime.sessions() as db:
        chair_id = members.seat_on(db, db.get(Project, project_id(runtime, pmc, "MK-101")),
                                   CHAIR).id
    for path, data in ((f"{page}/edit", {"name": "Renamed", "status": "ongoing"}),
                       (f"{page}/members", {"name": "X", "phone": "0712000999"}),
                       (f"{page}/members/{chair_id}/stand-down", {}),
                       (f"{page}/members/{chair_id}/role", {"role": "member"}),
                       (f"{PROJECTS}/import/projects",
                        {"file": (io.BytesIO(PROJECTS_CSV.read_bytes()), "p.csv")}),
                       (f"{PROJECTS}/import/members",
                        {"file": (io.BytesIO(PMC_CSV.read_bytes()), "m.csv")})):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "This form expired or did not come from the console" in text(response)
    with runtime.sessions() as db:
        assert find_project(db, pmc, "MK-101").name == "Kalawa market borehole"
        assert db.get(PmcMember, chair_id).active
    assert audit_actions(runtime) == []


# --- the list and a project's page -----------------------------------------------------------

def test_list_shows_latest_progress_flags_and_filters_by_ward_and_flag(client, runtime, pmc):
    report(runtime, pmc, "MK-101", CHAIR, 30, "atrisk", days_ago=3)
    report(runtime, pmc, "MK-101", SECRETARY, 45, "offtrack", days_ago=1)
    signed_in(client, runtime, "agent")
    listing = text(client.get(PROJECTS))
    rows = {code: row for code, row in re.findall(
        r"<tr>\s*<td>(MK-\d+)</td>(.*?)</tr>", listing, re.S)}
    assert list(rows) == ["MK-101", "MK-102", "MK-103", "MK-104"]
    # MK-101: reported (45% behind a plan that ended), twice in trouble, not quiet
    assert 'width="45"' in rows["MK-101"] and "45%" in rows["MK-101"]
    assert "Behind schedule" in rows["MK-101"] and "Trouble" in rows["MK-101"]
    assert "Quiet" not in rows["MK-101"]
    # MK-102: ongoing since 2025 without a report; MK-103 completed; MK-104 only planned
    assert "no report yet" in rows["MK-102"] and "Quiet" in rows["MK-102"]
    assert ">none<" in rows["MK-103"] and ">none<" in rows["MK-104"]
    assert "Wote, Mavindini" in rows["MK-103"] or "Mavindini, Wote" in rows["MK-103"]

    def codes(query: str) -> list[str]:
        return re.findall(r"<tr>\s*<td>(MK-\d+)</td>", text(client.get(PROJECTS + query)))

    with runtime.sessions() as db:
        wote = db.scalar(select(Project).where(Project.code == "MK-102")).wards[0].id
    assert codes(f"?ward={wote}") == ["MK-102", "MK-103"]
    assert codes("?flag=quiet") == ["MK-102"]
    assert codes("?flag=trouble") == ["MK-101"]
    assert codes(f"?ward={wote}&flag=behind") == []
    assert "No project matches these filters." in text(client.get(f"{PROJECTS}?flag=behind"
                                                                   f"&ward={wote}"))
    assert codes("?flag=nonsense&ward=nowhere") == ["MK-101", "MK-102", "MK-103", "MK-104"]


def test_project_page_shows_pmc_timeline_chart_feedback_and_verifications(client, runtime,
                                                                          pmc):
    first = report(runtime, pmc, "MK-101", SECRETARY, 20, "ontrack", days_ago=40,
                   comment="Drilling started")
    latest = report(runtime, pmc, "MK-101", BOTH, 35, "atrisk", days_ago=2, channel="ussd",
                    comment="Pump not delivered")
    with runtime.sessions.begin() as db:
        project = find_project(db, pmc, "MK-101")
        chair = members.seat_on(db, project, CHAIR)
        secretary = members.seat_on(db, project, SECRETARY)
        done = milestones.request_verification(db, chair, "Borehole drilled to 120 m")
        milestones.confirm_verification(db, done, secretary)
        milestones.request_verification(db, chair, "Pump house roofed")
        feedback.record_feedback(db, project, "+254799000111", "The site is fenced off")
        secretary.active = False  # stood down since; the report keeps its sender
    signed_in(client, runtime, "officer")
    page = text(client.get(page_of(runtime, pmc, "MK-101")))
    assert "Kalawa market borehole" in page and "Mfano Drillers Ltd" in page
    assert "KES 1,850,000" in page and "KES 600,000" in page and "Kalawa (0416)" in page
    # members: names, masked phones, roles, who stood down; never a full number
    for name, phone, role in (("Mwikali Musyoka", "+2547****5001", "Chair"),
                              ("Kioko Mutua", "+2547****5002", "Secretary"),
                              ("Ndinda Mwende", "+2547****5003", "Member")):
        assert re.search(rf"{name}</th>\s*<td>{re.escape(phone)}</td>\s*<td>{role}</td>", page)
    assert CHAIR not in page and "Stood down" in page
    # the timeline, newest first, with every column
    timeline = page.split('class="timeline"', 1)[1].split("</table>", 1)[0]
    assert timeline.index(latest) < timeline.index(first)
    assert "Ndinda Mwende" in timeline and "USSD" in timeline and "At risk" in timeline
    assert "Pump not delivered" in timeline and "35%" in timeline and "Kioko Mutua" in timeline
    # the chart: two reported points and the planned line from start to end
    chart = page.split("<svg viewBox=", 1)[1].split("</svg>", 1)[0]
    assert chart.count("<circle") == 2 and 'class="planned"' in chart
    assert "Planned: 0% on 2025-07-01 rising in a straight line to 100% on 2026-03-31" in chart
    assert "the latest says 35%" in chart
    # sign-offs and feedback
    assert "Borehole drilled to 120 m" in page and "Confirmed" in page
    assert "Pump house roofed" in page and "Pending: waiting for a second member" in page
    assert "The site is fenced off" in page and "+2547****0111" in page
    assert "Behind schedule" in page and "Quiet" not in page


def test_page_without_reports_or_dates_says_so(client, runtime, pmc):
    signed_in(client, runtime, "officer")
    page = text(client.get(page_of(runtime, pmc, "MK-104")))
    assert "No reports yet, and no start and end dates to plan by." in page
    assert "No reports yet. PMC members report by SMS" in page
    assert "No PMC members yet." in page and "none (county-wide)" not in page


# --- editing a project -------------------------------------------------------------------------

def test_officer_edits_a_project_and_it_is_audited(client, runtime, pmc):
    signed_in(client, runtime, "officer")
    page = page_of(runtime, pmc, "MK-101")
    form = text(client.get(f"{page}/edit"))
    assert 'value="1850000"' in form and 'value="2026-03-31"' in form
    with runtime.sessions() as db:
        wards = {w.code: w.id for w in db.scalars(select(Project)
                                                  .where(Project.code == "MK-103")).one().wards}
        kalawa = find_project(db, pmc, "MK-101").wards[0].id
    response = post(client, f"{page}/edit", {
        "name": "Kalawa market borehole and kiosk", "department": "Water and Sanitation",
        "contractor": "Mfano Drillers Ltd", "contract_value": "2,100,000",
        "amount_paid": "600000", "start_date": "2025-07-01", "end_date": "2026-06-30",
        "status": "stalled", "wards": [str(kalawa), str(wards["0424"])]}, page=f"{page}/edit")
    assert response.status_code == 302 and response.location.endswith(page)
    shown = text(client.get(page))
    assert ("Saved MK-101: name, contract value, end date, status, wards." in shown)
    with runtime.sessions() as db:
        project = find_project(db, pmc, "MK-101")
        assert (project.name, project.contract_value, project.end_date, project.status) == (
            "Kalawa market borehole and kiosk", 2_100_000, date(2026, 6, 30), "stalled")
        assert sorted(w.code for w in project.wards) == ["0416", "0424"]
    assert audit_actions(runtime) == [("project.edit", {
        "code": "MK-101",
        "name": {"from": "Kalawa market borehole", "to": "Kalawa market borehole and kiosk"},
        "contract_value": {"from": 1850000, "to": 2100000},
        "end_date": {"from": "2026-03-31", "to": "2026-06-30"},
        "status": {"from": "ongoing", "to": "stalled"},
        "wards": {"from": ["0416"], "to": ["0416", "0424"]}})]
    # saving the same values again changes nothing and audits nothing
    again = post(client, f"{page}/edit", {
        "name": "Kalawa market borehole and kiosk", "department": "Water and Sanitation",
        "contractor": "Mfano Drillers Ltd", "contract_value": "2100000", "amount_paid": "600,000",
        "start_date": "2025-07-01", "end_date": "2026-06-30", "status": "stalled",
        "wards": [str(wards["0424"]), str(kalawa)]}, page=f"{page}/edit")
    assert again.status_code == 302 and "Nothing changed." in text(client.get(page))
    assert len(audit_actions(runtime)) == 1


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"name": "  "}, "name", "required"),
    ({"contract_value": "lots"}, "contract_value", "is not an amount"),
    ({"amount_paid": "100.50"}, "amount_paid", "has a fraction"),
    ({"start_date": "01/07/2025"}, "start_date", "is not an ISO date"),
    ({"end_date": "2025-01-01"}, "end_date", "the planned end 2025-01-01 is before the start"),
    ({"status": "finished"}, "status", "choose a status from the list"),
    ({"wards": ["999999"]}, "wards", "choose wards of this organization"),
    ({"department": "x" * 121}, "department", "longer than 120 characters"),
])
def test_project_edit_is_checked_on_the_server(client, runtime, pmc, change, field, message):
    signed_in(client, runtime, "officer")
    page = page_of(runtime, pmc, "MK-101")
    data = {"name": "Kalawa market borehole", "contract_value": "1850000",
            "amount_paid": "600000", "start_date": "2025-07-01", "end_date": "2026-03-31",
            "status": "ongoing"} | change
    response = post(client, f"{page}/edit", data, page=f"{page}/edit")
    assert response.status_code == 400
    body = text(response)
    assert "Nothing was saved" in body and message in body
    assert f'id="{field}-error"' in body or field == "wards"
    with runtime.sessions() as db:
        project = find_project(db, pmc, "MK-101")
        assert (project.name, project.contract_value, project.status) == (
            "Kalawa market borehole", 1_850_000, "ongoing")
    assert audit_actions(runtime) == []


def test_a_nandi_ward_cannot_be_given_to_a_makueni_project(client, runtime, pmc):
    with runtime.sessions.begin() as db:
        nandi = organization_by_code(db, "nandi")
        places.import_kenya_wards(db, nandi.id, WARD_ROWS[3:], "Nandi")
        songhor = places.place_by_code(db, nandi.id, "0751").id
    signed_in(client, runtime, "officer")
    page = page_of(runtime, pmc, "MK-104")
    response = post(client, f"{page}/edit", {"name": "Masongaleni ECDE classroom",
                                             "status": "planned", "wards": [str(songhor)]},
                    page=f"{page}/edit")
    assert response.status_code == 400
    assert "choose wards of this organization" in text(response)


# --- the PMC ---------------------------------------------------------------------------------

def test_officer_adds_a_member_changes_roles_and_stands_one_down_all_audited(client, runtime,
                                                                            pmc):
    signed_in(client, runtime, "officer")
    page = page_of(runtime, pmc, "MK-101")
    response = post(client, f"{page}/members", {"name": " Mueni  Kilonzo ",
                                                "phone": "0733 100 200", "role": "member"},
                    page=page)
    assert response.status_code == 302
    assert "Added Mueni Kilonzo (member) on the PMC of MK-101." in text(client.get(page))
    with runtime.sessions() as db:
        project = db.get(Project, project_id(runtime, pmc, "MK-101"))
        mueni = members.seat_on(db, project, "+254733100200")
        chair = members.seat_on(db, project, CHAIR)
        assert (mueni.name, mueni.role) == ("Mueni Kilonzo", "member")
        mueni_id, chair_id = mueni.id, chair.id

    # a second chair is refused, and explained
    response = post(client, f"{page}/members/{mueni_id}/role", {"role": "chair"}, page=page)
    assert response.status_code == 400
    assert "Cannot change the role: Mwikali Musyoka is the chair; give them another role " \
           "first." in text(response)
    # the chair stands down; Mueni becomes chair
    assert post(client, f"{page}/members/{chair_id}/stand-down", {}, page=page).status_code == 302
    assert "Mwikali Musyoka stood down from the PMC of MK-101; their reports stay." in text(
        client.get(page))
    assert post(client, f"{page}/members/{mueni_id}/role", {"role": "chair"},
                page=page).status_code == 302
    # standing down twice, or giving a role to someone who stood down, is refused
    assert post(client, f"{page}/members/{chair_id}/stand-down", {}, page=page).status_code == 400
    assert post(client, f"{page}/members/{chair_id}/role", {"role": "member"},
                page=page).status_code == 400
    # seating the old chair again brings the same seat back, as a member
    response = post(client, f"{page}/members", {"name": "Mwikali Musyoka",
                                                "phone": "+254712345001", "role": "member"},
                    page=page)
    assert response.status_code == 302
    with runtime.sessions() as db:
        project = db.get(Project, project_id(runtime, pmc, "MK-101"))
        assert [(m.name, m.role, m.active) for m in members.members_of(db, project.id)] == [
            ("Mueni Kilonzo", "chair", True), ("Kioko Mutua", "secretary", True),
            ("Mwikali Musyoka", "member", True), ("Ndinda Mwende", "member", True)]
        assert members.seat_on(db, project, CHAIR).id == chair_id
    assert audit_actions(runtime) == [
        ("pmc.add", {"project": "MK-101", "name": "Mueni Kilonzo", "phone": "+2547****0200",
                     "role": "member"}),
        ("pmc.stand_down", {"project": "MK-101", "name": "Mwikali Musyoka", "role": "chair"}),
        ("pmc.role", {"project": "MK-101", "name": "Mueni Kilonzo", "from": "member",
                      "to": "chair"}),
        ("pmc.reseat", {"project": "MK-101", "name": "Mwikali Musyoka",
                        "phone": "+2547****5001", "role": "member"}),
    ]


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "Someone", "phone": "12345", "role": "member"}, "is not a valid phone number"),
    ({"name": "", "phone": "0733100200", "role": "member"}, "the name is required"),
    ({"name": "Someone", "phone": "0733100200", "role": "boss"}, "choose a role"),
    ({"name": "Someone", "phone": "0733100200", "role": "chair"}, "is the chair"),
    ({"name": "Again", "phone": "0712 345 002", "role": "member"},
     "Kioko Mutua already sits on this PMC with that phone"),
])
def test_member_form_explains_what_is_wrong(client, runtime, pmc, data, message):
    signed_in(client, runtime, "officer")
    page = page_of(runtime, pmc, "MK-101")
    response = post(client, f"{page}/members", data, page=page)
    assert response.status_code == 400
    body = text(response)
    assert "Cannot add the member" in body and message in body
    assert f'value="{data["name"]}"' in body  # the form keeps what was typed
    with runtime.sessions() as db:
        assert len(members.members_of(db, project_id(runtime, pmc, "MK-101"))) == 3
    assert audit_actions(runtime) == []


# --- imports ---------------------------------------------------------------------------------

def upload(client, path: str, content: bytes, filename: str, **fields):
    page = f"{PROJECTS}/import"
    return client.post(path, data={"csrf_token": csrf_token(client, page),
                                   "file": (io.BytesIO(content), filename)} | fields,
                       content_type="multipart/form-data")


def test_officer_uploads_projects_and_members_and_reads_a_summary(client, runtime):
    org_id = add_makueni(runtime)
    signed_in(client, runtime, "officer")
    response = upload(client, f"{PROJECTS}/import/projects", PROJECTS_CSV.read_bytes(),
                      "makueni_projects.csv", format="auto")
    assert response.status_code == 302 and response.location.endswith(f"{PROJECTS}/import")
    page = text(client.get(f"{PROJECTS}/import"))
    assert "Imported 4 projects from makueni_projects.csv: 4 created, 0 updated, " \
           "0 unchanged." in page
    response = upload(client, f"{PROJECTS}/import/members", PMC_CSV.read_bytes(),
                      "makueni_pmc.csv")
    assert response.status_code == 302
    assert "Imported 5 PMC members of 2 projects from makueni_pmc.csv: 5 created, 0 updated, " \
           "0 unchanged." in text(client.get(f"{PROJECTS}/import"))
    # the same files again change nothing
    upload(client, f"{PROJECTS}/import/projects", PROJECTS_CSV.read_bytes(), "again.csv")
    assert "4 created" not in (page := text(client.get(f"{PROJECTS}/import")))
    assert "0 created, 0 updated, 4 unchanged" in page
    with runtime.sessions() as db:
        assert len(members.members_of(db, find_project(db, org_id, "MK-101").id)) == 3
    actions = audit_actions(runtime)
    assert [a for a, _ in actions] == ["projects.import", "pmc.import", "projects.import"]
    assert actions[0][1] == {"file": "makueni_projects.csv", "format": "auto", "projects": 4,
                             "created": 4, "updated": 0, "unchanged": 0}
    assert actions[1][1]["members"] == 5 and actions[1][1]["replace"] is False


def test_an_oc4ids_package_upload_uses_the_same_reader_as_the_command_line(client, runtime):
    org_id = add_makueni(runtime)
    signed_in(client, runtime, "officer")
    response = upload(client, f"{PROJECTS}/import/projects", OC4IDS_JSON.read_bytes(),
                      "package.json", format="oc4ids")
    assert response.status_code == 302
    page = text(client.get(f"{PROJECTS}/import"))
    assert "Imported 3 projects from package.json: 3 created" in page
    with runtime.sessions() as db:
        water = db.scalar(select(Project).where(Project.oc4ids_id == "oc4ids-test01-MKN-0001"))
        assert (water.name, water.contract_value, [w.code for w in water.wards]) == (
            "Kathonzweni water pan", 2_940_000, ["0428"])
        houses = find_project(db, org_id, "2")  # numbered; its ward found by name
        assert [w.name for w in houses.wards] == ["Mavindini"]


def test_import_warnings_are_shown_with_the_summary(client, runtime):
    add_makueni(runtime)
    signed_in(client, runtime, "officer")
    content = (b"code,name,ward_code,department,contractor,contract_value,amount_paid,"
               b"start_date,end_date,status\nMK-9,County-wide survey,,,,100,200,,,ongoing\n")
    assert upload(client, f"{PROJECTS}/import/projects", content, "p.csv").status_code == 302
    page = text(client.get(f"{PROJECTS}/import")).replace("&#39;", "'")
    assert "Imported 1 projects from p.csv: 1 created" in page
    assert "Warning: line 2: MK-9 has no ward (residents will not find it by ward)." in page
    assert "Warning: line 2: MK-9 amount_paid 200 is more than contract_value 100." in page


@pytest.mark.parametrize(("content", "fields", "problems"), [
    (b"code,name,ward_code,department,contractor,contract_value,amount_paid,start_date,"
     b"end_date,status\nMK-1,Good,0416,,,100,,2025-01-01,2025-12-31,ongoing\n"
     b"MK-2,,9999,,,ten,,2025-13-01,,done\n", {}, [
         "line 3: name: required", "line 3: contract_value",
         "line 3: start_date", "line 3: status", "line 3: ward_code: no ward '9999'"]),
    (b"code,name\nMK-1,Only two columns\n", {}, ["line 1: missing columns"]),
    (b'{"projects": [{"title": "No id"}]}', {"format": "oc4ids"},
     ["projects[0]: a project without id"]),
    (b'{"releases": [', {}, ["line 1: not JSON"]),
    (b"\xff\xfecode", {}, ["file: not UTF-8 text"]),
    (PROJECTS_CSV.read_bytes(), {"format": "ocds"}, ["line 1: not JSON"]),
    (OC4IDS_JSON.read_bytes(), {"format": "ocds"}, ["file: this is not an OCDS package"]),
])
def test_a_bad_projects_file_imports_nothing_and_lists_its_problems(client, runtime, content,
                                                                    fields, problems):
    add_makueni(runtime)
    signed_in(client, runtime, "officer")
    response = upload(client, f"{PROJECTS}/import/projects", content, "bad.csv", **fields)
    assert response.status_code == 400
    body = re.sub(r"</?strong>", "", text(response))
    assert "nothing imported" in body
    for problem in problems:
        assert problem in body.replace("&#39;", "'"), problem
    with runtime.sessions() as db:
        assert db.scalars(select(Project)).all() == []
    assert audit_actions(runtime) == []


def test_a_bad_members_file_imports_nothing(client, runtime, pmc):
    signed_in(client, runtime, "officer")
    content = (b"project_code,phone,name,role\nMK-104,0733100200,Mueni Kilonzo,member\n"
               b"MK-999,0733100201,Nobody,member\nMK-104,12,Bad Phone,member\n")
    response = upload(client, f"{PROJECTS}/import/members", content, "pmc.csv")
    assert response.status_code == 400
    body = text(response)
    assert "2 problems, nothing imported" in body
    assert "no project MK-999 in this organization" in body and "phone:" in body
    with runtime.sessions() as db:
        assert members.members_of(db, find_project(db, pmc, "MK-104").id) == []


@pytest.mark.parametrize("target", ["projects", "members"])
def test_a_file_the_csv_reader_cannot_read_is_refused_at_its_line(client, runtime, pmc, target):
    signed_in(client, runtime, "officer")
    header = (b"code,name,ward_code,department,contractor,contract_value,amount_paid,"
              b"start_date,end_date,status\n" if target == "projects"
              else b"project_code,phone,name,role\n")
    content = header + b"MK-104," + b"x" * 200_000 + b"\n"  # over the csv module's field limit
    response = upload(client, f"{PROJECTS}/import/{target}", content, "big.csv")
    assert response.status_code == 400
    assert ("<strong>line 2</strong>: not readable as CSV (field larger than field limit"
            in text(response))


def test_an_upload_without_a_file_is_refused(client, runtime, pmc):
    signed_in(client, runtime, "officer")
    page = f"{PROJECTS}/import"
    response = client.post(f"{PROJECTS}/import/projects",
                           data={"csrf_token": csrf_token(client, page), "format": "auto"},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "choose a file to upload" in text(response)


def test_uploads_may_be_larger_than_a_form_but_not_without_limit(client, runtime):
    add_makueni(runtime)
    signed_in(client, runtime, "officer")
    big = b"{" + b" " * (400 * 1024) + OC4IDS_JSON.read_bytes()[1:]
    response = upload(client, f"{PROJECTS}/import/projects", big, "big.json")
    assert response.status_code == 302
    huge = b"{" + b" " * (6 * 1024 * 1024) + b"}"
    response = upload(client, f"{PROJECTS}/import/projects", huge, "huge.json")
    assert response.status_code == 413 and "at most 5 MB" in text(response)
    # a stranger's post is held to the small limit before anything else is read
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    response = client.post(f"{PROJECTS}/import/projects",
                           data={"file": (io.BytesIO(big), "big.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 413


# --- exports ---------------------------------------------------------------------------------

def test_reports_csv_has_the_documented_columns_and_escapes_formulas(client, runtime, pmc):
    older = report(runtime, pmc, "MK-101", CHAIR, 20, "ontrack", days_ago=10,
                   comment="Drilling, day 1")
    newer = report(runtime, pmc, "MK-101", BOTH, 35, "atrisk", days_ago=1,
                   comment="=HYPERLINK(\"http://x\")")
    other = report(runtime, pmc, "MK-102", MUTUKU, 5, "ontrack", channel="ussd")
    signed_in(client, runtime, "officer")
    response = client.get(f"{PROJECTS}/reports.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="makueni-pmc-reports-\d{4}-\d{2}-\d{2}\.csv"',
                        response.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert list(rows[0]) == list(REPORT_COLUMNS)
    assert [r["reference"] for r in rows] == [older, newer, other]
    first = rows[0]
    assert (first["project_code"], first["project_name"], first["member_name"],
            first["member_role"], first["channel"], first["progress"], first["status"],
            first["issue"], first["comment"]) == (
        "MK-101", "Kalawa market borehole", "Mwikali Musyoka", "chair", "sms", "20", "ontrack",
        "none", "Drilling, day 1")
    received = datetime.fromisoformat(first["received_at"])
    assert received.utcoffset() == timedelta(hours=3)  # Nairobi time
    assert abs(received - (utcnow() - timedelta(days=10))) < timedelta(minutes=5)
    assert rows[1]["comment"] == "'=HYPERLINK(\"http://x\")"
    assert rows[2]["channel"] == "ussd" and rows[2]["member_name"] == "Mutuku Nzioka"
    assert "+2547" not in text(response)  # no phones

    one = client.get(f"{page_of(runtime, pmc, 'MK-102')}/reports.csv")
    assert [r["reference"] for r in csv.DictReader(io.StringIO(text(one)))] == [other]
    assert 'filename="makueni-MK-102-pmc-reports-' in one.headers["Content-Disposition"]


ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")
PROJECT_STATUSES = {"identification", "preparation", "implementation", "completion",
                    "completed", "cancelled"}


def oc4ids_problems(package: dict) -> list[str]:
    """What breaks the OC4IDS 0.9 package and project schemas' structure: required fields,
    codelists that are closed, Value and Period objects, ISO date-times, unique ids."""
    problems = []

    def when(path: str, value: object) -> None:
        if not isinstance(value, str) or not ISO_DATETIME.fullmatch(value):
            problems.append(f"{path}: {value!r} is not an ISO 8601 date-time")
        else:
            datetime.fromisoformat(value)

    def period(path: str, value: dict) -> None:
        for key in ("startDate", "endDate"):
            if key in value:
                when(f"{path}.{key}", value[key])

    def money(path: str, value: dict) -> None:
        if not isinstance(value.get("amount"), int | float) or not re.fullmatch(
                r"[A-Z]{3}", value.get("currency", "")):
            problems.append(f"{path}: not a Value with amount and currency")

    for key in ("uri", "publisher", "publishedDate", "projects", "version"):
        if key not in package:
            problems.append(f"package: {key} is required")
    when("publishedDate", package.get("publishedDate"))
    if not re.fullmatch(r"\d+\.\d+", package.get("version", "")):
        problems.append("version is major.minor")
    if not package.get("publisher", {}).get("name"):
        problems.append("publisher.name is required")
    if not package.get("projects"):
        problems.append("projects needs at least one project")
    ids = [p.get("id") for p in package.get("projects", [])]
    if len(set(ids)) != len(ids):
        problems.append("project ids are not unique")
    for index, project in enumerate(package.get("projects", [])):
        at = f"projects[{index}]"
        if not isinstance(project.get("id"), str) or not project["id"]:
            problems.append(f"{at}.id is required")
        if project.get("status") not in PROJECT_STATUSES:
            problems.append(f"{at}.status {project.get('status')!r} is not a projectStatus")
        when(f"{at}.updated", project.get("updated"))
        period(f"{at}.period", project.get("period", {}))
        if "budget" in project:
            money(f"{at}.budget.amount", project["budget"].get("amount", {}))
        for n, location in enumerate(project.get("locations", [])):
            if not location.get("id"):
                problems.append(f"{at}.locations[{n}].id is required")
        for n, process in enumerate(project.get("contractingProcesses", [])):
            if not process.get("id"):
                problems.append(f"{at}.contractingProcesses[{n}].id is required")
            summary = process.get("summary", {})
            if "contractValue" in summary:
                money(f"{at}.contractingProcesses[{n}].contractValue", summary["contractValue"])
            period(f"{at}.contractingProcesses[{n}].contractPeriod",
                   summary.get("contractPeriod", {}))
        for block in ("metrics", "forecasts"):
            for n, metric in enumerate(project.get(block, [])):
                if metric.get("id") not in {"physicalProgress", "financialProgress"}:
                    problems.append(f"{at}.{block}[{n}].id is not a metricID")
                for k, observation in enumerate(metric.get("observations", [])):
                    where = f"{at}.{block}[{n}].observations[{k}]"
                    if not observation.get("id"):
                        problems.append(f"{where}.id is required")
                    period(f"{where}.period", observation.get("period", {}))
                    if "value" in observation:
                        money(f"{where}.value", observation["value"])
    return problems


def test_oc4ids_export_is_a_valid_package_with_pmc_observations(client, runtime, pmc):
    first = report(runtime, pmc, "MK-101", CHAIR, 20, "ontrack", days_ago=10)
    latest = report(runtime, pmc, "MK-101", SECRETARY, 35, "atrisk", days_ago=1,
                    comment="Pump not delivered")
    signed_in(client, runtime, "officer")
    response = client.get(f"{PROJECTS}/oc4ids.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert 'filename="makueni-oc4ids-' in response.headers["Content-Disposition"]
    package = json.loads(text(response))
    assert oc4ids_problems(package) == []
    assert package["version"] == "0.9" and package["publisher"] == {"name": "Makueni County"}
    assert package["uri"].endswith("/console/orgs/makueni/projects/oc4ids.json")
    projects = {p["identifiers"][0]["id"]: p for p in package["projects"]}
    assert list(projects) == ["MK-101", "MK-102", "MK-103", "MK-104"]
    borehole = projects["MK-101"]
    assert borehole["id"] == "baraza-makueni-MK-101"
    assert (borehole["title"], borehole["status"]) == ("Kalawa market borehole",
                                                       "implementation")
    assert borehole["period"] == {"startDate": "2025-07-01T00:00:00+03:00",
                                  "endDate": "2026-03-31T00:00:00+03:00",
                                  "durationInDays": 273}
    assert borehole["budget"] == {"amount": {"amount": 1850000, "currency": "KES"}}
    assert borehole["locations"] == [{"id": "1", "description": "Kalawa", "gazetteer": {
        "scheme": "IEBC", "identifiers": ["0416"]}}]
    assert borehole["publicAuthority"] == {"name": "Water and Sanitation"}
    process = borehole["contractingProcesses"][0]["summary"]
    assert process["suppliers"] == [{"name": "Mfano Drillers Ltd"}]
    assert process["contractValue"] == {"amount": 1850000, "currency": "KES"}
    metrics = {m["id"]: m for m in borehole["metrics"]}
    observations = metrics["physicalProgress"]["observations"]
    assert [(o["id"], o["measure"], o["unit"]["id"]) for o in observations] == [
        (first, "20", "P1"), (latest, "35", "P1")]
    assert observations[1]["dimensions"] == {"reportStatus": "atrisk", "mainIssue": "none",
                                             "channel": "sms"}
    assert observations[1]["notes"] == "Pump not delivered"
    assert "Kioko" not in text(response) and "+2547" not in text(response)
    paid = metrics["financialProgress"]["observations"][0]
    assert paid["value"] == {"amount": 600000, "currency": "KES"} and paid["measure"] == "32"
    assert [o["measure"] for o in borehole["forecasts"][0]["observations"]] == ["0", "100"]
    # statuses map onto the closed projectStatus codelist; a bare project stays valid
    assert [projects[c]["status"] for c in ("MK-102", "MK-103", "MK-104")] == [
        "implementation", "completed", "preparation"]
    bare = projects["MK-104"]
    assert {"budget", "period", "metrics", "contractingProcesses"}.isdisjoint(bare)
    assert [(loc["description"], loc["gazetteer"]["identifiers"]) for loc in bare["locations"]
            ] == [("Kathonzweni", ["0428"]), ("Masongaleni", ["0437"])]


def test_oc4ids_export_keeps_imported_ids_and_refuses_an_empty_package(client, runtime):
    add_makueni(runtime)
    signed_in(client, runtime, "officer")
    response = client.get(f"{PROJECTS}/oc4ids.json")
    assert response.status_code == 302
    assert "There are no projects to export yet." in text(client.get(PROJECTS))
    upload(client, f"{PROJECTS}/import/projects", OC4IDS_JSON.read_bytes(), "package.json")
    package = json.loads(text(client.get(f"{PROJECTS}/oc4ids.json")))
    assert oc4ids_problems(package) == []
    water = next(p for p in package["projects"] if p["title"] == "Kathonzweni water pan")
    assert water["id"] == "oc4ids-test01-MKN-0001"
    assert water["contractingProcesses"][0]["id"] == "ocds-test01-MKN-2025-017"
    assert water["contractingProcesses"][0]["summary"]["ocid"] == "ocds-test01-MKN-2025-017"


def test_the_structural_check_catches_what_it_should():
    broken = {"uri": "x", "publisher": {}, "publishedDate": "22/11/2026", "version": "0.9",
              "projects": [{"id": "", "status": "stalled", "updated": "2026-11-22",
                            "budget": {"amount": {"amount": "1"}},
                            "metrics": [{"id": "physicalProgress", "observations": [{
                                "period": {"startDate": "yesterday"}}]}]}]}
    problems = oc4ids_problems(broken)
    for expected in ("publishedDate", "publisher.name", "projects[0].id is required",
                     "is not a projectStatus", "projects[0].updated", "budget.amount",
                     "observations[0].id is required", "observations[0].period.startDate"):
        assert any(expected in p for p in problems), expected


def test_report_rows_never_mix_organizations(runtime, pmc):
    report(runtime, pmc, "MK-101", CHAIR, 20, "ontrack")
    with runtime.sessions() as db:
        nandi = organization_by_code(db, "nandi")
        makueni = organization_by_code(db, "makueni")
        assert reports_csv(db, nandi).count("\r\n") == 1
        assert reports_csv(db, makueni).count("\r\n") == 2
        assert reports_csv(db, makueni, project_id(runtime, pmc, "MK-102")).count("\r\n") == 1


# --- the progress chart's geometry -------------------------------------------------------------

def test_chart_puts_the_plan_corner_to_corner_and_reports_on_their_local_day():
    from app.pmc.progress_chart import HEIGHT, LEFT, RIGHT, TOP, WIDTH, chart_of

    start, end = date(2026, 1, 1), date(2026, 1, 11)
    # 22:30 UTC on 5 January is already 6 January in Nairobi
    reports = [(datetime.fromisoformat("2026-01-05T22:30:00+00:00"), 60),
               (datetime.fromisoformat("2026-01-02T09:00:00+00:00"), 10)]
    chart = chart_of(start, end, reports, "Africa/Nairobi", today=date(2026, 1, 3))
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - 40
    assert [(p.x, p.y) for p in chart.planned] == [(left, bottom), (right, top)]
    assert [(p.day, p.progress) for p in chart.reported] == [(date(2026, 1, 2), 10),
                                                             (date(2026, 1, 6), 60)]
    assert chart.reported[1].x == pytest.approx(left + (right - left) * 5 / 10)
    assert chart.reported[1].y == pytest.approx(top + (bottom - top) * 0.4)
    assert chart.today == pytest.approx(left + (right - left) * 2 / 10)
    assert [t.label for t in chart.date_ticks] == ["2026-01-01", "2026-01-11"]
    assert [t.label for t in chart.percent_ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.reported_points.count(",") == 2


def test_chart_runs_past_the_plan_for_late_reports_and_needs_something_to_draw():
    from app.pmc.progress_chart import chart_of

    late = [(datetime.fromisoformat("2026-02-10T08:00:00+03:00"), 70)]
    chart = chart_of(date(2026, 1, 1), date(2026, 1, 31), late, "Africa/Nairobi",
                     today=date(2026, 3, 1))
    assert chart.last_day == date(2026, 2, 10) and chart.today is None
    assert chart.planned[1].x < chart.reported[0].x == chart.right
    assert chart_of(None, None, [], "Africa/Nairobi", today=date(2026, 3, 1)) is None
    only = chart_of(None, None, late, "Africa/Nairobi", today=date(2026, 3, 1))
    assert only.planned is None and len(only.reported) == 1
