"""The call centre end to end in a real browser: an agent logs a complaint for the caller on the
line in a few keystrokes, a supervisor takes it, works it and resolves it, and the outbox holds
the SMS notices the caller should get. Dev stack only, like tests/test_pmc_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.db.models import Organization
from app.tickets.notices import day_text
from tests.browser import serve
from tests.console_support import add_counties_with_places, add_user
from tests.factories import add_contact
from tests.sms_support import outbox
from tests.test_console_browser import nav_link, sign_in
from tests.ticket_support import CALLER, ticket


@pytest.fixture
def stack() -> str:
    return "dev"  # overrides conftest's two-stack parameter for this module


@pytest.fixture
def base_url(app, runtime) -> Iterator[str]:
    add_counties_with_places(runtime)
    add_contact(runtime, "nandi", CALLER, "en")  # the caller chose English once, by USSD
    with serve(app) as url:
        yield url


def open_nandi(page: Page) -> None:
    page.get_by_role("link", name="Nandi County").click()
    expect(page.get_by_role("heading", name="Nandi County", level=1)).to_be_visible()


def flash(page: Page):
    return page.locator(".flash")


def test_an_agent_logs_a_complaint_and_a_supervisor_resolves_it(page, runtime):
    agent, supervisor = add_user(runtime, "agent", "nandi"), add_user(runtime, "supervisor",
                                                                       "nandi")
    sign_in(page, agent)
    open_nandi(page)
    expect(nav_link(page, "Ticket dashboard")).to_have_count(0)
    nav_link(page, "Caller lookup").click()

    # The phone rings: the number is typed as the caller reads it out, Enter looks it up, the
    # cursor waits in the description, and Enter there logs the complaint.
    expect(page.get_by_label("Caller's phone number")).to_be_focused()
    page.keyboard.type("0722 000 111")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="This caller's tickets")).to_be_visible()
    expect(page.get_by_text("No tickets from this number yet.")).to_be_visible()
    form = page.get_by_role("form", name="Log a complaint for this caller")
    form.get_by_label("Ward").select_option(label="Songhor/Soba (0751)")
    form.get_by_label("What the caller says").focus()
    page.keyboard.type("No water at Kapsabet market for a week")
    page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text("; the caller gets an SMS with the reference.")
    reference = re.search(r"Logged complaint (\d{7})", flash(page).inner_text()).group(1)
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=reference))
    expect(row).to_contain_text("Service delivery")
    expect(row).to_contain_text("New")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, supervisor)
    open_nandi(page)
    nav_link(page, "Ticket dashboard").click()
    expect(page.locator("#open-total strong")).to_have_text("1")
    expect(page.locator("#overdue-total strong")).to_have_text("0")
    page.locator("#by-place").get_by_role("link", name="1").click()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Ticket {reference}")).to_be_visible()
    expect(page.locator("#ticket-description")).to_have_text(
        "No water at Kapsabet market for a week")
    expect(page.get_by_role("link", name=CALLER)).to_be_visible()  # to call back

    page.get_by_role("button", name="Assign to me").click()
    expect(flash(page)).to_have_text(
        f"{reference} is now assigned to Supervisor of nandi; the caller gets an SMS.")
    expect(page.locator("#ticket-status")).to_have_text("Assigned")
    page.get_by_label("Comment (staff only; the caller is not told)").fill(
        "Water office says the pump is being fixed")
    page.get_by_role("button", name="Add comment").click()
    expect(flash(page)).to_have_text(f"Comment added to {reference}.")
    page.get_by_label("New status").select_option(label="In progress")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#ticket-status")).to_have_text("In progress")
    page.get_by_label("New status").select_option(label="Resolved")
    page.get_by_label("Note (optional, staff only)").fill("Pump repaired")
    page.get_by_role("button", name="Change status").click()
    expect(flash(page)).to_have_text(f"{reference} is now resolved; the caller gets an SMS.")
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    history = page.locator("#ticket-history tbody tr")
    expect(history).to_have_count(6)
    expect(history.nth(0)).to_contain_text("Agent of nandi")
    expect(history.nth(0)).to_contain_text("Opened by call-centre agent")
    expect(history.nth(3)).to_contain_text("Water office says the pump is being fixed")
    expect(history.nth(5)).to_contain_text("Status In progress → Resolved")
    expect(history.nth(5)).to_contain_text("Pump repaired")

    # The resident's phone gets these, and only these, in this order.
    assert [m.body for m in outbox(runtime) if m.msisdn == CALLER] == [
        f"Complaint received. Ref {reference}. We aim to resolve it by "
        f"{due_day(runtime, reference)}. To follow it, send STATUS {reference}.",
        f"Complaint {reference} is now assigned to an officer. Send STATUS {reference} for "
        "details.",
        f"Complaint {reference} is now in progress. Send STATUS {reference} for details.",
        f"Complaint {reference} is resolved. Are you satisfied? Reply 1 for yes or 2 for no.",
    ]


def due_day(runtime, reference: str) -> str:
    with runtime.sessions() as db:
        made = ticket(db, reference)
        return day_text(made.due_at, db.get(Organization, made.organization_id), "en")
