"""A bulk SMS campaign end to end in a real browser, sent through the real pipeline.

An officer drafts a campaign in chromium (everyone, plus a CSV with a bad row; a Kiswahili text
with a character that forces UCS-2) and reads the preview; an approver signs in and approves;
a real rq worker (burst mode) materialises the campaign and sends it to the local fake AT, which
refuses one number; the page's progress bar, polled by its script, reaches 100% without a
reload. A delivery report posted as AT posts it then shows after a reload (no script needed).
Prod stack (PostgreSQL + Redis): the approval queues rq jobs, which the dev stack would run
inside the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.db.models import OutboxMessage, OutboxStatus
from tests.browser import serve
from tests.sms_support import run_jobs
from tests.test_campaigns import (  # noqa: F401  (world is a fixture)
    APPROVER,
    KIOKO,
    MUTUA,
    OFFICER,
    OPEN_ALWAYS,
    WANJIRU,
    world,
)
from tests.test_console_browser import nav_link, sign_in

# Makueni with wards, a cycle, an officer, two approvers and five residents: Wanjiru, Mutua,
# Kioko, Nduku (opted out) and Atieno (suppressed).
pytestmark = pytest.mark.usefixtures("world")
TOKEN = "callback-secret-for-the-campaign-browser-test"
REFUSED = "+254712000011"  # only in the CSV; the fake AT answers 403 InvalidPhoneNumber
CSV = b"phone\n0712000011\nnot a number\n0712000001\n"
SWAHILI = "Habari {name}: baraza la bajeti Jumatatu \u2013 karibu!"  # an en dash: UCS-2


@pytest.fixture
def stack() -> str:
    return "prod"  # overrides conftest's two-stack parameter for this module


@pytest.fixture
def settings(settings, fake_at):
    return settings.with_overrides(
        at_username=fake_at.username, at_api_key=fake_at.api_key, at_api_url=fake_at.url,
        callback_token=TOKEN, campaign_hours=OPEN_ALWAYS)  # sending hours: always open


@pytest.fixture
def base_url(app, runtime) -> Iterator[str]:
    with serve(app) as url:
        yield url


def bar(page: Page):
    return page.get_by_role("progressbar")


def field(page: Page, name: str):
    return page.locator(f'#campaign-progress [data-field="{name}"]')


def test_an_officer_drafts_an_approver_approves_and_the_bar_reaches_100(page, runtime,
                                                                        fake_at):
    fake_at.answer(REFUSED, 403)
    sign_in(page, OFFICER)
    page.get_by_role("link", name="Makueni County").click()
    nav_link(page, "SMS campaigns").click()
    expect(page.get_by_role("heading", name="SMS campaigns of Makueni County")).to_be_visible()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name (seen only in the console)").fill("Budget forum")
    page.get_by_label("Everyone in Makueni County's contacts").check()
    page.get_by_label(re.compile("^CSV of phone numbers")).set_input_files(
        files=[{"name": "extra.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.get_by_label("English", exact=True).fill("Hello {name}, budget forum on Monday at 10:00.")
    page.get_by_label("Kiswahili", exact=True).fill(SWAHILI)
    page.get_by_role("button", name="Save draft and preview").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Draft campaign Budget forum saved: nothing is sent until an approver approves it.")
    expect(page.get_by_role("status")).to_contain_text(
        "Left out of the CSV, not a phone number: 1 entry (listed below).")
    preview = page.locator("#preview")
    expect(preview.locator("#preview-recipients")).to_have_text("4")
    expect(preview.locator("#preview-opted-out")).to_have_text("1")
    expect(preview.locator("#preview-suppressed")).to_have_text("1")
    expect(preview.locator("#preview-duplicates")).to_have_text("1")
    expect(preview.locator("#preview-invalid")).to_have_text("1")
    expect(preview.get_by_text("not a number", exact=True)).to_be_visible()
    swahili = preview.locator("section.language-preview").filter(
        has=page.get_by_role("heading", name=re.compile("^Kiswahili")))
    expect(swahili.locator(".encoding")).to_have_text("UCS-2")
    expect(swahili.locator("p.message-text mark")).to_have_text(["\u2013"])
    expect(page.locator("#approval-blocked")).to_contain_text(
        "Only a user with the approver role may approve")
    campaign_path = "/" + page.url.split("/", 3)[3]

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, APPROVER)
    page.goto(campaign_path)
    page.get_by_role("button", name="Approve and send to 4 recipients").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign Budget forum approved")
    expect(bar(page)).to_have_attribute("aria-valuenow", "0")
    expect(field(page, "status")).to_have_text("approved")
    expect(page.get_by_text("(recipients are being written)")).to_be_visible()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    run_jobs(runtime)  # a real rq worker: materialise, waves, sends to the fake AT
    # The page's script polls the JSON endpoint: no reload.
    expect(bar(page)).to_have_attribute("aria-valuenow", "100")
    expect(field(page, "status")).to_have_text("completed")
    expect(page.locator("dl.facts .campaign-status")).to_have_text("completed")
    expect(page.get_by_text("(recipients are being written)")).to_be_hidden()
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    expect(field(page, "total")).to_have_text("4")
    expect(field(page, "sent")).to_have_text("3")
    expect(field(page, "failed")).to_have_text("1")
    expect(field(page, "queued")).to_have_text("0")
    expect(page.locator('rect[data-segment="sent"]')).to_have_attribute("width", "75.00")
    expect(page.locator('rect[data-segment="failed"]')).to_have_attribute("x", "75.00")
    assert sorted(n for request in fake_at.requests for n in request.to) == \
        sorted([WANJIRU, MUTUA, KIOKO, REFUSED])

    with runtime.sessions() as db:
        wanjiru = db.scalars(select(OutboxMessage).where(OutboxMessage.msisdn == WANJIRU)).one()
        assert wanjiru.status == OutboxStatus.SENT
    report = page.request.post(f"/at/sms/delivery?token={TOKEN}", form={
        "id": wanjiru.at_message_id, "status": "Success", "phoneNumber": WANJIRU,
        "networkCode": "63902", "retryCount": "0"})
    assert report.ok, report.text()
    page.reload()  # a finished campaign's page no longer polls; the server draws the bar
    expect(field(page, "delivered")).to_have_text("1")
    expect(page.locator('rect[data-segment="delivered"]')).to_have_attribute("width", "25.0")
    expect(bar(page)).to_have_attribute("aria-valuenow", "100")
