"""The phone simulator in a real browser: dial, read the screens AT delivers, switch language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import serve
from tests.factories import add_counties


@pytest.fixture
def stack() -> str:
    return "dev"  # what `make run` uses: SQLite and in-process sessions


@pytest.fixture
def page(browser: Browser, app, runtime) -> Iterator[Page]:
    add_counties(runtime)
    with serve(app) as url:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        yield page
        context.close()


def answer(page: Page, text: str) -> None:
    page.get_by_label("Answer").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_dial_choose_english_then_kiswahili(page: Page):
    page.goto("/simulator/")
    page.get_by_label("USSD code").select_option("*483*1#")
    page.get_by_label("Phone number").fill("+254712345678")
    page.get_by_role("button", name="Dial").click()
    screen = page.locator("#screen")
    expect(screen).to_contain_text("Chagua lugha / Choose language")

    answer(page, "1")
    expect(screen).to_have_text("Makueni County\n1. Vote on the budget\n2. Projects in my ward\n"
                                "3. Complaints and feedback\n4. Language")
    expect(page.locator("#raw")).to_contain_text('"CON Makueni County')

    answer(page, "4")
    expect(screen).to_contain_text("Choose your language")
    answer(page, "2")
    expect(screen).to_have_text("Makueni County\n1. Piga kura ya bajeti\n2. Miradi ya wadi yangu\n"
                                "3. Malalamiko na maoni\n4. Lugha")
    answer(page, "3")
    expect(screen).to_contain_text("1. Toa malalamiko\n2. Fuatilia malalamiko")
    answer(page, "2")
    expect(screen).to_contain_text("Andika kumbukumbu ya malalamiko")
    answer(page, "1")  # one digit is no reference: asked for again, with an example
    expect(screen).to_contain_text("Tafadhali andika kumbukumbu, mfano 4829137.")
    answer(page, "12")  # digits whose check digit fails: "mistyped", once more, then the end
    answer(page, "12")
    expect(screen).to_contain_text("12 pia si kumbukumbu ya malalamiko")
    expect(page.get_by_label("Answer")).to_be_disabled()  # END: the session is over

    # A new session remembers the choice: straight to the Kiswahili menu.
    page.get_by_role("button", name="Dial").click()
    expect(screen).to_contain_text("1. Piga kura ya bajeti")


def test_text_help_and_read_the_reply_in_the_inbox(page: Page):
    page.goto("/simulator/")
    page.get_by_label("Phone number").fill("+254712345679")
    page.get_by_label("Text the county's short code").fill("msaada")
    page.get_by_role("button", name="Send SMS").click()
    inbox = page.locator("#messages")
    # No language chosen yet and a Kiswahili keyword: the help comes in Kiswahili.
    expect(inbox.locator(".sms").first).to_contain_text("Makueni County SMS. Tuma")
    expect(inbox).to_contain_text("from 40014")


def test_invalid_input_shows_a_short_correction(page: Page):
    page.goto("/simulator/")
    page.get_by_role("button", name="Dial").click()
    answer(page, "1")
    expect(page.locator("#screen")).to_contain_text("1. Vote on the budget")
    answer(page, "7")
    expect(page.locator("#screen")).to_contain_text("Invalid choice.\nMakueni County")


def test_simulator_is_absent_when_disabled(app, runtime, client):
    runtime.settings = runtime.settings.with_overrides(simulator_enabled=False)
    assert client.get("/simulator/").status_code == 404
    assert client.post("/simulator/ussd", json={}).status_code in (400, 404)
