"""A budget cycle end to end in a real browser, with votes through the real USSD endpoint.

An officer creates a cycle in chromium, adds and accepts proposals and opens voting; three
residents vote by posting AT's raw USSD forms to /at/ussd of the same served app; the officer
reads the results, closes and publishes; a stranger opens the public page, sees the winners and
checks a receipt. Dev stack only, like tests/test_console_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from tests.browser import serve
from tests.console_support import add_counties_with_places, add_user, ward_id
from tests.factories import MAKUENI_USSD
from tests.test_console_browser import nav_link, sign_in

PROPOSALS = [  # title, Kiswahili title, cost, category
    ("Water tank at Kalawa", "Tangi la maji Kalawa", "400,000", "water"),
    ("Clinic beds", "", "300,000", "health"),
    ("Footbridge", "Daraja", "250,000", "roads"),
]


@pytest.fixture
def stack() -> str:
    return "dev"  # overrides conftest's two-stack parameter for this module


@pytest.fixture
def base_url(app, runtime) -> Iterator[str]:
    add_counties_with_places(runtime)
    with serve(app) as url:
        yield url



class Handset:
    """A phone on AT's network: each hop is AT's raw form, `text` growing as AT grows it."""

    def __init__(self, http: APIRequestContext, msisdn: str) -> None:
        self.http, self.msisdn, self.text = http, msisdn, ""

    def dial(self) -> str:
        self.text = ""
        return self._post()

    def press(self, *keys: str) -> str:
        reply = ""
        for key in keys:
            self.text = f"{self.text}*{key}" if self.text else key
            reply = self._post()
        return reply

    def _post(self) -> str:
        response = self.http.post("/at/ussd", form={
            "sessionId": f"ATUid_{self.msisdn[-4:]}", "serviceCode": MAKUENI_USSD,
            "phoneNumber": self.msisdn, "networkCode": "63902", "text": self.text})
        assert response.ok and response.headers["content-type"].startswith("text/plain")
        return response.text()


def vote_by_ussd(http: APIRequestContext, msisdn: str, codes: list[str],
                 profile: tuple[str, ...] | None = None) -> str:
    """A first-time voter: language, vote, sub-county, ward, choices, confirm; the receipt."""
    phone = Handset(http, msisdn)
    assert "Choose language" in phone.dial()
    assert "1. Vote on the budget" in phone.press("1")  # English
    assert phone.press("1", "2").startswith("CON Choose your ward\n")  # vote, Mbooni
    assert phone.press("2").startswith("CON Vote in Tulimani?")
    assert phone.press("1").startswith("CON Budget left: KES 700K")
    phone.press(*codes)
    assert phone.press("99").startswith(f"CON You chose {', '.join(codes)}\n")
    recorded = phone.press("1")
    receipt = re.search(r"Receipt: (\d{10})", recorded)
    assert receipt, recorded
    if profile:
        assert phone.press("1", *profile).startswith("END ")
    else:
        assert phone.press("2").startswith("END Thank you. Your vote is recorded.")
    return receipt.group(1)


def status(page: Page):
    return page.get_by_role("status")


def test_officer_runs_a_cycle_residents_vote_by_ussd_and_results_are_published(
        page, browser, runtime, base_url):
    sign_in(page, add_user(runtime, "officer"))
    page.get_by_role("link", name="Makueni County").click()
    nav_link(page, "Budget cycles").click()
    expect(page.get_by_text("No budget cycles yet.")).to_be_visible()
    page.get_by_role("link", name="New cycle").click()

    page.get_by_label("Name", exact=True).fill("Tulimani 2026/27")
    page.get_by_label(re.compile("^Round")).fill("2026/27")
    page.get_by_label("Place", exact=True).select_option(str(ward_id(runtime, "makueni", "0411")))
    page.get_by_label("Budget in KES").fill("700,000")
    page.get_by_label("Ballot type").select_option(label="Approval within the budget")
    page.get_by_label("Counting rule").select_option("mes")
    page.get_by_role("button", name="Create cycle").click()
    expect(status(page)).to_have_text("Created cycle Tulimani 2026/27. Add its proposals below.")
    expect(page.get_by_role("heading", name="Tulimani 2026/27", level=1)).to_be_visible()

    for code, (title, sw, cost, category) in enumerate(PROPOSALS, start=1):
        page.get_by_label("Title", exact=True).fill(title)
        page.get_by_label("Title in Kiswahili (optional)").fill(sw)
        page.get_by_label("Cost in KES").fill(cost)
        page.get_by_label("Category (optional, e.g. water, health, roads)").fill(category)
        page.get_by_role("button", name="Add proposal").click()
        expect(status(page)).to_have_text(f"Added proposal {code}: {title}.")
    expect(page.get_by_role("rowheader", name=re.compile("^Water tank at Kalawa"))) \
        .to_contain_text("Tangi la maji Kalawa")

    page.get_by_role("button", name="Open voting").click()  # nothing accepted yet
    expect(page.get_by_role("alert")).to_have_text(
        "Cannot move the cycle: voting needs at least one accepted proposal.")
    for code, (title, *_) in enumerate(PROPOSALS, start=1):
        page.get_by_role("button", name=f"Accept proposal {code}").click()
        expect(status(page)).to_have_text(f"Accepted proposal {code}: {title}.")
    page.get_by_role("button", name="Open voting").click()
    expect(status(page)).to_contain_text("the cycle is now in phase voting")
    expect(page.get_by_role("button", name="Close voting")).to_be_visible()
    expect(page.get_by_role("heading", name="Add a proposal")).to_have_count(0)

    # Residents vote through the real USSD endpoint of the served app.
    receipts = [
        vote_by_ussd(page.request, "+254712000001", ["1", "2"], profile=("1", "3", "2")),
        vote_by_ussd(page.request, "+254712000002", ["1", "3"]),
        vote_by_ussd(page.request, "+254712000003", ["1", "2"]),
    ]

    page.get_by_role("link", name="Results").click()
    expect(page.get_by_role("heading", name="Results of Tulimani 2026/27")).to_be_visible()
    expect(page.get_by_text("Voting is still open")).to_be_visible()
    chart = page.locator("table.results")
    expect(chart.locator("tr.funded th[scope=row]")).to_have_text(
        ["Water tank at Kalawa", "Clinic beds"])
    expect(chart.locator("tr.funded-line")).to_have_text(
        "Funded line: KES 700,000 of KES 700,000 funded, KES 0 left")
    expect(chart.locator("tr.unfunded th[scope=row]")).to_have_text(["Footbridge"])
    page.get_by_role("link", name=re.compile("^Greedy by support")).click()
    expect(page.get_by_text("Greedy: most support first, skipping what no longer fits")) \
        .to_be_visible()
    page.get_by_role("link", name="Back to the cycle").click()

    page.get_by_role("link", name="Turnout").click()
    expect(page.get_by_text("Residents who voted by phone: 3")).to_be_visible()
    expect(page.get_by_role("table", name="Gender").get_by_role("cell", name="hidden")) \
        .to_have_count(4)
    page.get_by_role("link", name="Back to the cycle").click()

    page.get_by_role("button", name="Close voting").click()
    expect(status(page)).to_contain_text("the cycle is now in phase closed")
    # a resident dialling now is told voting is not open
    late = Handset(page.request, "+254712000009")
    late.dial()
    assert "Budget voting is not open" in late.press("1", "1")
    page.get_by_role("button", name="Publish results").click()
    expect(status(page)).to_contain_text("the cycle is now in phase published")
    public_url = page.get_by_role("link", name="Public results page").get_attribute("href")
    assert public_url is not None

    # A stranger, with no console login, reads the published results.
    stranger = browser.new_context(base_url=base_url)
    try:
        public = stranger.new_page()
        public.goto(public_url)
        expect(public.get_by_role("heading", name="Tulimani 2026/27")).to_be_visible()
        expect(public.get_by_role("list", name="Funded proposals").get_by_role("listitem")) \
            .to_have_text(["1. Water tank at Kalawa: KES 400,000", "2. Clinic beds: KES 300,000"])
        expect(public.locator("tr.funded-line")).to_contain_text("KES 700,000 of KES 700,000")
        expect(public.get_by_text("Ballots counted")).to_be_visible()
        public.get_by_label("Receipt code").fill(receipts[1])
        public.get_by_role("button", name="Check").click()
        expect(public.get_by_role("status")).to_have_text(
            f"Counted: the ballot with receipt {receipts[1]} is counted in these results.")
        public.get_by_label("Receipt code").fill("1234567890")
        public.get_by_role("button", name="Check").click()
        expect(public.get_by_role("status")).to_contain_text("Not found")
        public.goto(public_url.rsplit("/", 1)[0])
        public.get_by_role("link", name="Tulimani 2026/27").click()
        expect(public).to_have_url(re.compile(re.escape(public_url) + "$"))
    finally:
        stranger.close()
