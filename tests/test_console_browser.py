"""The console in a real browser: chromium signs in as an officer and as an agent.

Runs on the "dev" stack only: what the browser proves (forms, CSRF tokens, cookies, what each
role is shown) does not depend on the database, and one stack keeps the suite fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser import serve
from tests.console_support import PASSWORD, add_counties_with_places, add_user
from tests.factories import add_contact

CALLER = "+254712345678"


@pytest.fixture
def stack() -> str:
    return "dev"  # overrides conftest's two-stack parameter for this module


@pytest.fixture
def base_url(app, runtime) -> Iterator[str]:
    add_counties_with_places(runtime)
    add_contact(runtime, "makueni", CALLER, "sw")
    with serve(app) as url:
        yield url



def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def nav_link(page: Page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def open_makueni(page: Page) -> None:
    expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
    expect(page.get_by_role("link", name="Nandi County")).to_have_count(0)
    page.get_by_role("link", name="Makueni County").click()
    expect(page.get_by_role("heading", name="Makueni County", level=1)).to_be_visible()
    expect(page.get_by_text("*483*1#")).to_be_visible()


def test_officer_edits_places_and_reads_contacts_but_not_the_audit_log(page, runtime):
    sign_in(page, add_user(runtime, "officer"))
    open_makueni(page)
    for allowed in ("Places", "Contacts", "Caller lookup"):
        expect(nav_link(page, allowed)).to_be_visible()
    for hidden in ("Audit log", "Users"):
        expect(nav_link(page, hidden)).to_have_count(0)

    nav_link(page, "Places").click()
    page.get_by_role("link", name="Rename Tulimani").click()
    page.get_by_label("Name").fill("Tulimani Ward")
    page.get_by_role("button", name="Save").click()  # a CSRF-protected form, as browsers post it
    expect(page.get_by_role("status")).to_have_text("Renamed Tulimani to Tulimani Ward.")
    expect(page.get_by_role("rowheader", name="Tulimani Ward")).to_be_visible()

    nav_link(page, "Contacts").click()
    expect(page.get_by_role("rowheader", name=CALLER)).to_be_visible()  # full number

    response = page.goto("/console/orgs/makueni/audit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    response = page.goto("/console/orgs/nandi")
    assert response is not None and response.status == 404


def test_agent_looks_up_callers_and_is_kept_out_of_officer_pages(page, runtime):
    sign_in(page, add_user(runtime, "agent"))
    open_makueni(page)
    for allowed in ("Places", "Caller lookup"):
        expect(nav_link(page, allowed)).to_be_visible()
    for hidden in ("Contacts", "Audit log", "Users"):
        expect(nav_link(page, hidden)).to_have_count(0)

    nav_link(page, "Places").click()
    expect(page.get_by_role("rowheader", name="Tulimani")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Rename"))).to_have_count(0)

    nav_link(page, "Caller lookup").click()
    page.get_by_label("Caller's phone number").fill("0712 345 678")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name=CALLER)).to_be_visible()
    expect(page.get_by_text("sw", exact=True)).to_be_visible()
    page.get_by_label("Caller's phone number").fill("12345")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("alert")).to_contain_text("12345 is not a valid phone number in KE")

    for officer_page in ("contacts", "audit", "users", "places/1/edit"):
        response = page.goto(f"/console/orgs/makueni/{officer_page}")
        assert response is not None and response.status == 403, officer_page
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_wrong_password_then_sign_in_and_out(page, runtime):
    email = add_user(runtime, "officer")
    sign_in(page, email, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/console/orgs/makueni")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_login_form_posted_from_another_site_is_refused(page, runtime, base_url):
    email = add_user(runtime, "officer")
    # A page elsewhere that posts our login form without the token only our pages carry.
    page.set_content(f"""
        <form method="post" action="{base_url}/console/login">
          <input name="email" value="{email}"><input name="password" value="{PASSWORD}">
          <button>Go</button>
        </form>""")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Go").click()
    assert navigation.value is not None and navigation.value.status == 400
    expect(page.get_by_text("did not come from the console")).to_be_visible()
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
