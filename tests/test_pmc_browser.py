"""Project monitoring end to end in a real browser, with a PMC report through the SMS endpoint.

An officer uploads a projects CSV and a PMC members CSV in chromium and finds the ongoing
project flagged quiet; its chair texts `PMC <code> 55 ONTRACK ...`, posted to /at/sms of the
same served app exactly as AT posts it; the project page then shows the report, its reference,
the chart point, and no quiet flag. Dev stack only, like tests/test_pb_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.db.base import utcnow
from app.db.models import Organization
from app.pmc.warnings import local_today
from tests.browser import serve
from tests.console_support import add_user
from tests.pmc_support import add_makueni
from tests.sms_support import MAKUENI_SMS, outbox, run_jobs, sms_form
from tests.test_console_browser import nav_link, sign_in

TOKEN = "callback-secret-for-the-browser-test"
CHAIR = "+254712345001"
QUIET = re.compile(r"^Quiet: no PMC report for 14 days or more$")  # visible name + hint


@pytest.fixture
def stack() -> str:
    return "dev"  # overrides conftest's two-stack parameter for this module


@pytest.fixture
def settings(settings):
    return settings.with_overrides(callback_token=TOKEN)  # /at/... needs ?token=, as deployed


@pytest.fixture
def base_url(app, runtime) -> Iterator[str]:
    add_makueni(runtime)
    with serve(app) as url:
        yield url



def projects_csv(runtime) -> bytes:
    """MK-201 started 60 days ago and ends in 60 (so 55% is on schedule); MK-202 is planned."""
    with runtime.sessions() as db:
        today = local_today(db.query(Organization).filter_by(code="makueni").one(), utcnow())
    start, end = today - timedelta(days=60), today + timedelta(days=60)
    return ("code,name,ward_code,department,contractor,contract_value,amount_paid,start_date,"
            "end_date,status\n"
            f"MK-201,Kalawa cattle dip,0416,Agriculture,Mfano Builders Ltd,\"980,000\",0,"
            f"{start},{end},ongoing\n"
            "MK-202,Wote library,0424,Education,,,,,,planned\n").encode()


MEMBERS_CSV = (b"project_code,phone,name,role\n"
               b"MK-201,0712 345 001,Mwikali Musyoka,chair\n"
               b"MK-201,0712 345 002,Kioko Mutua,secretary\n"
               b"MK-202,0712 345 002,Kioko Mutua,member\n")


def status(page: Page):
    return page.get_by_role("status")


def project_row(page: Page, code: str):
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=code, exact=True))


def test_officer_imports_a_report_arrives_by_sms_and_the_quiet_flag_clears(page, runtime):
    sign_in(page, add_user(runtime, "officer"))
    page.get_by_role("link", name="Makueni County").click()
    nav_link(page, "Projects").click()
    expect(page.get_by_role("heading", name="Projects of Makueni County")).to_be_visible()
    expect(page.get_by_text("No projects yet.")).to_be_visible()

    page.get_by_role("link", name="Import projects or PMC members").click()
    page.get_by_label("Projects file").set_input_files(
        files=[{"name": "projects.csv", "mimeType": "text/csv", "buffer": projects_csv(runtime)}])
    page.get_by_role("button", name="Import projects").click()
    expect(status(page)).to_have_text(
        "Imported 2 projects from projects.csv: 2 created, 0 updated, 0 unchanged.")
    page.get_by_label("PMC members file").set_input_files(
        files=[{"name": "pmc.csv", "mimeType": "text/csv", "buffer": MEMBERS_CSV}])
    page.get_by_role("button", name="Import PMC members").click()
    expect(status(page)).to_have_text(
        "Imported 3 PMC members of 2 projects from pmc.csv: 3 created, 0 updated, 0 unchanged.")

    page.get_by_role("link", name="All projects").click()
    dip = project_row(page, "MK-201")
    expect(dip.locator(".flag")).to_have_text([QUIET])
    expect(dip).to_contain_text("no report yet")
    expect(project_row(page, "MK-202").locator(".flag")).to_have_count(0)  # not started yet
    page.get_by_label("Flag").select_option(label="Quiet")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.projects tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Kalawa cattle dip").click()
    expect(page.get_by_role("heading", name="Kalawa cattle dip", level=1)).to_be_visible()
    expect(page.locator("#flags .flag")).to_have_text([QUIET])
    expect(page.get_by_text("No reports yet. PMC members report by SMS")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Mwikali Musyoka")).to_be_visible()
    expect(page.get_by_role("cell", name="+2547****5001")).to_be_visible()

    # The chair reports by SMS: AT posts the raw form to the served app, then workers run.
    response = page.request.post(f"/at/sms?token={TOKEN}", form=sms_form(
        "pmc  mk-201 55% ONTRACK culvert done", at_id="ATXid_pmc_browser_1", sender=CHAIR,
        to=MAKUENI_SMS))
    assert response.ok, response.text()
    assert page.request.post("/at/sms", form=sms_form("PMC MK-201 60 ONTRACK", at_id="ATXid_x",
                                                      sender=CHAIR)).status == 403  # no token
    run_jobs(runtime)
    replies = [m.body for m in outbox(runtime) if m.msisdn == CHAIR]
    assert len(replies) == 1, replies
    reference = re.search(r"PR\d{6}", replies[0])
    assert reference, replies[0]

    page.reload()
    report = page.locator("table.timeline tbody tr")
    expect(report).to_have_count(1)
    expect(report).to_contain_text("Mwikali Musyoka")
    expect(report).to_contain_text("SMS")
    expect(report).to_contain_text("55%")
    expect(report).to_contain_text("On track")
    expect(report).to_contain_text("culvert done")
    expect(report.get_by_role("rowheader")).to_have_text(reference.group(0))
    expect(page.locator("#flags .flag")).to_have_count(0)
    expect(page.locator("#flags")).to_have_text("none")
    expect(page.locator("figure.progress-chart circle")).to_have_count(1)
    expect(page.locator("figure.progress-chart line.planned")).to_have_count(1)
    expect(page.get_by_role("img", name=re.compile("^Reported progress of MK-201"))) \
        .to_be_visible()

    page.get_by_role("link", name="All projects").click()
    dip = project_row(page, "MK-201")
    expect(dip.locator(".flag")).to_have_count(0)
    expect(dip).to_contain_text("55%")
    page.get_by_label("Flag").select_option(label="Quiet")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No project matches these filters.")).to_be_visible()
