"""Bulk SMS campaigns in the console, through Flask's test client on both stacks: drafting with
each audience filter and a CSV, the preview's numbers and marked UCS-2 characters, four eyes,
pause/resume/cancel, the progress JSON, and organization walls."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from app.campaigns import runner
from app.campaigns.audience import ward_ids_by_code
from app.console import campaigns as console_campaigns
from app.db.base import utcnow
from app.db.models import AuditEntry, Campaign, CampaignStatus, Cycle, OutboxMessage
from app.services import accounts, places
from app.services.organizations import organization_by_code
from tests.console_support import WARD_ROWS, add_user, csrf_token, log_in
from tests.sms_support import run_jobs
from tests.test_campaigns import (  # noqa: F401  (world is a fixture)
    APPROVER,
    APPROVER_2,
    KIOKO,
    MESSAGES,
    MUTUA,
    OFFICER,
    OPEN_ALWAYS,
    WANJIRU,
    world,
)
from tests.ticket_support import open_one

# Makueni with wards, a cycle, an officer, two approvers, an agent and five residents.
pytestmark = pytest.mark.usefixtures("world")
CAMPAIGNS = "/console/orgs/makueni/campaigns"
STRANGER = "+254712000011"  # in the CSV only, not a contact
CSV = b"phone\n0712000001\n0712000011\n254712000011\n12345\nhello\n0712000004\n"


@pytest.fixture
def settings(settings):
    # Sending hours that include every moment: the tests never depend on the time of day.
    return settings.with_overrides(campaign_hours=OPEN_ALWAYS)


@pytest.fixture
def later(stack, monkeypatch) -> list[int]:
    """Delays the campaign runner asked for; on the dev stack they are recorded, not left
    running as timer threads (on the prod stack rq keeps them in its scheduled registry)."""
    delays: list[int] = []
    if stack == "dev":
        monkeypatch.setattr(console_campaigns, "campaign_jobs", lambda runtime: (
            runner.InlineCampaignJobs(runtime, schedule=lambda delay, _work: delays.append(delay))))
    return delays


def client_of(app, email: str):
    client = app.test_client()
    assert log_in(client, email).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict, page: str | None = None, **kwargs):
    return client.post(path, data={"csrf_token": csrf_token(client, page or path)} | data,
                       **kwargs)


def draft(client, data: dict | None = None, csv: bytes | None = None):
    form = {"name": "Budget forum", "everyone": "yes", "message_en": MESSAGES["en"],
            "message_sw": MESSAGES["sw"]} | (data or {})
    if csv is not None:
        form["numbers"] = (io.BytesIO(csv), "numbers.csv")
    return post(client, f"{CAMPAIGNS}/new", form, content_type="multipart/form-data")


def drafted(client, **kwargs) -> str:
    """Draft a campaign; its page's path."""
    response = draft(client, **kwargs)
    assert response.status_code == 302, text(response)
    assert re.fullmatch(rf"{CAMPAIGNS}/\d+", response.location), response.location
    return response.location


def cell(html: str, cell_id: str) -> str:
    match = re.search(rf'id="{cell_id}">([^<]*)<', html)
    assert match, cell_id
    return match.group(1)


def audit_actions(runtime, campaign_id: int) -> list[str]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry.action)
                               .where(AuditEntry.entity == "campaign",
                                      AuditEntry.entity_id == str(campaign_id))
                               .order_by(AuditEntry.id)))


def campaign_id_of(path: str) -> int:
    return int(path.rsplit("/", 1)[1])


def status_of(runtime, campaign_id: int) -> str:
    with runtime.sessions() as db:
        return str(db.get(Campaign, campaign_id).status)


def test_an_officer_drafts_with_a_csv_and_the_preview_counts_each_removal(app, runtime):
    officer = client_of(app, OFFICER)
    assert "SMS campaigns" in text(officer.get("/console/orgs/makueni"))  # the nav link
    page = drafted(officer, csv=CSV)
    html = text(officer.get(page))
    # Everyone (Wanjiru, Mutua, Kioko) plus the CSV's stranger; Nduku opted out (as a contact
    # and again in the CSV), Atieno is suppressed, Wanjiru and the stranger came twice.
    assert [cell(html, f"preview-{key}") for key in (
        "recipients", "opted-out", "suppressed", "duplicates", "invalid", "parts", "cost")] == \
        ["4", "2", "1", "2", "2", "4", "KES 3.20"]
    assert "<code>12345</code>" in html and "<code>hello</code>" in html
    assert "Left out of the CSV, not a phone number: 2 entries (listed" in html  # the flash
    english, swahili = re.findall(r'<h3 id="preview-(?:en|sw)">([^<]*)</h3>', html)
    assert (english, swahili) == ("English: 3 recipients", "Kiswahili: 1 recipient")
    assert re.findall(r'class="encoding">([^<]*)<', html) == ["GSM-7", "GSM-7"]
    assert "<mark>" not in html
    assert "Only a user with the approver role may approve" in html
    assert audit_actions(runtime, campaign_id_of(page)) == ["campaign.create"]
    with runtime.sessions() as db:
        campaign = db.get(Campaign, campaign_id_of(page))
        assert (campaign.status, campaign.audience["numbers"]) == \
            (CampaignStatus.DRAFT, [WANJIRU, STRANGER, "+254712000004"])
        assert db.scalar(select(OutboxMessage.id)) is None  # a draft sends nothing
    listing = text(officer.get(CAMPAIGNS))
    assert "Budget forum" in listing and "not written yet" in listing


def test_each_audience_filter_of_the_form(app, runtime):
    officer = client_of(app, OFFICER)
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        [mbooni] = ward_ids_by_code(db, org.id, ["86"])  # a sub-county
        cycle_id = db.scalar(select(Cycle.id).where(Cycle.organization_id == org.id))
    cases = [({"everyone": "", "ward": [str(mbooni)]}, "2"),
             ({"language": "sw"}, "1"),
             ({"cycle_id": str(cycle_id)}, "1"),
             ({"pmc": "yes"}, "1"),
             ({"everyone": "", "pmc": "yes", "language": "en"}, "0"),
             ({"open_complaints": "yes"}, "1")]
    open_one(runtime, org_code="makueni", msisdn=WANJIRU, notify=False)
    for data, recipients in cases:
        html = text(officer.get(drafted(officer, data=data)))
        assert cell(html, "preview-recipients") == recipients, data


def test_characters_that_force_ucs2_are_marked_and_text_is_escaped(app, runtime):
    officer = client_of(app, OFFICER)
    html = text(officer.get(drafted(officer, data={
        "message_en": "Forum <b>Monday</b> at 10:00 in {ward}.",
        "message_sw": "Baraza la bajeti Jumatatu – karibu {name} 🙂"})))
    assert "Forum &lt;b&gt;Monday&lt;/b&gt; at 10:00" in html
    assert "<b>Monday" not in html
    assert re.findall(r'class="encoding">([^<]*)<', html) == ["GSM-7", "UCS-2"]
    swahili = html.split('id="preview-sw"', 1)[1].split("</section>", 1)[0]
    assert "Jumatatu <mark>–</mark> karibu {name} <mark>🙂</mark>" in swahili
    assert "because of <mark>–</mark>, <mark>🙂</mark>" in swahili
    # 30-character names at their longest, then the stop hint pushes a first message to 2.
    assert re.findall(r'class="parts">([^<]*)<', html) == ["1 part", "1 part"]
    assert "first campaign message carries: 2 parts, for 1 recipient" in swahili


def test_the_form_refuses_what_the_campaign_cannot_be(app, runtime):
    officer = client_of(app, OFFICER)
    nandi_ward = add_nandi_ward(runtime)
    an_hour_ago = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Africa/Nairobi"))
    for data, csv, message in (
            ({"everyone": ""}, None, "choose who gets the campaign"),
            ({"everyone": ""}, b"phone\nhello\n", "(the CSV has no valid number)"),
            ({}, b"\xff\xfe\x00bad", "not UTF-8"),
            ({"message_en": "Hello {nmae}"}, None, "unknown placeholder(s) {nmae}"),
            ({"message_en": "", "message_sw": " "}, None, "at least one language"),
            ({"name": " "}, None, "a campaign needs a name"),
            ({"ward": [str(nandi_ward)]}, None, "no such place in this organization"),
            ({"cycle_id": "999999"}, None, "no cycle 999999 in this organization"),
            ({"language": "fr"}, None, "choose a language from the list"),
            ({"ward": ["²"]}, None, "choose a ward from the list"),  # isdigit(), not int()
            ({"cycle_id": "٣"}, None, "choose a cycle from the list"),
            ({"scheduled_for": an_hour_ago.strftime("%Y-%m-%dT%H:%M")}, None, "in the past")):
        response = draft(officer, data=data, csv=csv)
        assert response.status_code == 400, (data, response.status_code)
        assert message in text(response), (data, message)
    with runtime.sessions() as db:
        assert db.scalar(select(Campaign.id)) is None


def add_nandi_ward(runtime) -> int:
    with runtime.sessions.begin() as db:
        nandi = organization_by_code(db, "nandi")
        places.import_kenya_wards(db, nandi.id, [r for r in WARD_ROWS if r["county_code"] == "29"],
                                  "Nandi")
        return places.place_by_code(db, nandi.id, "0751").id


def test_four_eyes_the_creator_cannot_approve_and_the_page_says_why(app, runtime):
    own_author = client_of(app, APPROVER)  # approvers may draft, then need another approver
    page = drafted(own_author)
    html = text(own_author.get(page))
    assert "You created this campaign: another approver must approve it" in html
    assert "Approve and send" not in html
    refused = post(own_author, f"{page}/approve", {}, page=page)
    assert refused.status_code == 400
    assert "the person who created a campaign cannot approve it" in text(refused)
    officer = client_of(app, OFFICER)
    assert "Only a user with the approver role may approve" in text(officer.get(page))
    assert post(officer, f"{page}/approve", {}, page=page).status_code == 403
    assert status_of(runtime, campaign_id_of(page)) == "draft"
    assert audit_actions(runtime, campaign_id_of(page)) == ["campaign.create"]


def test_an_approver_approves_and_the_progress_reaches_100(app, runtime):
    page = drafted(client_of(app, OFFICER))
    campaign_id = campaign_id_of(page)
    approver = client_of(app, APPROVER)
    assert approver.get(f"{page}/progress").get_json()["percent"] == 0  # nothing written yet
    assert "Approve and send to 3 recipients" in text(approver.get(page))
    response = post(approver, f"{page}/approve", {}, page=page)
    assert response.status_code == 302
    assert "approved: recipients are being written" in text(approver.get(page))
    run_jobs(runtime)  # materialise, waves, sends (done in the request on the dev stack)
    state = approver.get(f"{page}/progress").get_json()
    assert {k: state[k] for k in ("status", "total", "queued", "sent", "failed", "suppressed",
                                  "cancelled", "percent", "finished")} == {
        "status": "completed", "total": 3, "queued": 0, "sent": 3, "failed": 0,
        "suppressed": 0, "cancelled": 0, "percent": 100, "finished": True}
    html = text(approver.get(page))
    assert 'aria-valuenow="100"' in html
    assert 'data-segment="sent" x="0.0" y="0" width="100.0"' in html  # drawn without script
    assert 'data-finished="true"' in html
    assert audit_actions(runtime, campaign_id) == [
        "campaign.create", "campaign.approve", "campaign.materialise", "campaign.complete"]
    with runtime.sessions() as db:
        sent = db.scalars(select(OutboxMessage.msisdn)
                          .where(OutboxMessage.campaign_id == campaign_id)).all()
        assert sorted(sent) == sorted([WANJIRU, MUTUA, KIOKO])
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.approve")).one()
        assert entry.user_id == accounts.user_by_email(db, APPROVER).id


def test_an_approval_stands_when_its_job_cannot_be_queued(app, runtime, monkeypatch):
    page = drafted(client_of(app, OFFICER))
    approver = client_of(app, APPROVER)
    token = csrf_token(approver, page)

    def queue_down(_runtime):
        raise RedisConnectionError("Redis is restarting")

    monkeypatch.setattr(console_campaigns, "campaign_jobs", queue_down)
    response = approver.post(f"{page}/approve", data={"csrf_token": token})
    assert response.status_code == 302
    assert "queued again automatically within 16 minutes" in text(approver.get(page))
    assert status_of(runtime, campaign_id_of(page)) == "approved"  # the sweep finds it


def test_pause_resume_and_cancel_a_scheduled_campaign(app, runtime, stack, later):
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("Africa/Nairobi"))
    officer = client_of(app, OFFICER)
    page = drafted(officer, data={"scheduled_for": tomorrow.strftime("%Y-%m-%dT%H:%M")})
    campaign_id = campaign_id_of(page)
    assert tomorrow.strftime("no earlier than %Y-%m-%d %H:%M") in text(officer.get(page))
    approver = client_of(app, APPROVER_2)
    assert post(approver, f"{page}/approve", {}, page=page).status_code == 302
    run_jobs(runtime)
    assert status_of(runtime, campaign_id) == "scheduled"  # written, waiting for its time
    html = text(officer.get(page))
    assert 'aria-valuenow="0"' in html and 'data-finished="false"' in html
    assert re.findall(r'name="action" value="(\w+)"', html) == ["pause", "cancel"]

    assert post(officer, f"{page}/status", {"action": "pause"}, page=page).status_code == 302
    assert status_of(runtime, campaign_id) == "paused"
    html = text(officer.get(page))
    assert "Campaign Budget forum paused." in html
    assert re.findall(r'name="action" value="(\w+)"', html) == ["resume", "cancel"]
    refused = post(officer, f"{page}/status", {"action": "pause"}, page=page)
    assert refused.status_code == 400
    assert "cannot pause a campaign that is paused" in text(refused)
    assert post(officer, f"{page}/status", {"action": "resume"}, page=page).status_code == 302
    assert status_of(runtime, campaign_id) == "scheduled"
    assert post(officer, f"{page}/status", {"action": "cancel"}, page=page).status_code == 302
    assert "cancelled (3 unsent messages stopped)" in text(officer.get(page))
    state = officer.get(f"{page}/progress").get_json()
    assert (state["status"], state["cancelled"], state["sent"], state["percent"],
            state["finished"]) == ("cancelled", 3, 0, 100, True)
    assert post(officer, f"{page}/status", {"action": "explode"}, page=page).status_code == 400
    assert audit_actions(runtime, campaign_id) == [
        "campaign.create", "campaign.approve", "campaign.materialise", "campaign.pause",
        "campaign.resume", "campaign.cancel"]
    if stack == "dev":  # the runner's waits for the start time, recorded instead of timers
        assert len(later) == 2 and all(delay > 3600 for delay in later)


def test_another_organizations_campaigns_are_not_found(app, runtime):
    page = drafted(client_of(app, OFFICER))
    nandi = client_of(app, add_user(runtime, "officer", "nandi"))
    nandi_approver = client_of(app, add_user(runtime, "approver", "nandi"))
    assert nandi.get(page).status_code == 404
    assert nandi.get(f"{page}/progress").status_code == 404
    as_nandi = page.replace("/makueni/", "/nandi/")
    for path in (as_nandi, f"{as_nandi}/progress"):
        assert nandi.get(path).status_code == 404, path  # the id exists, but not in Nandi
    assert "Budget forum" not in text(nandi.get("/console/orgs/nandi/campaigns"))
    token = csrf_token(nandi_approver, "/console/orgs/nandi/campaigns")
    for path in (f"{page}/approve", f"{as_nandi}/approve"):
        assert nandi_approver.post(path, data={"csrf_token": token}).status_code == 404
    token = csrf_token(nandi, "/console/orgs/nandi/campaigns")
    for path in (f"{page}/status", f"{as_nandi}/status"):
        assert nandi.post(path, data={"csrf_token": token, "action": "cancel"}).status_code == 404
    assert status_of(runtime, campaign_id_of(page)) == "draft"


def test_posts_without_a_csrf_token_are_refused(app, runtime):
    page = drafted(client_of(app, OFFICER))
    approver = client_of(app, APPROVER)
    assert approver.post(f"{page}/approve").status_code == 400
    assert approver.post(f"{page}/status", data={"action": "cancel"}).status_code == 400
    assert approver.post(f"{CAMPAIGNS}/new", data={"name": "x", "everyone": "yes",
                                                   "message_en": "Hi"}).status_code == 400
    assert status_of(runtime, campaign_id_of(page)) == "draft"


def test_agents_see_no_campaigns(app, runtime):
    agent = client_of(app, add_user(runtime, "agent", email="agent2@makueni.example.org"))
    assert "SMS campaigns" not in text(agent.get("/console/orgs/makueni"))
    assert agent.get(CAMPAIGNS).status_code == 403
