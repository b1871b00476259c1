"""The call-centre console through Flask's test client: the caller view and the complaint form,
the ticket list (overdue first), a ticket's page and its changes, the supervisors' dashboard,
users' phones, organization walls and CSRF."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.console import tickets as ticket_views
from app.db.base import utcnow
from app.db.models import (
    AuditEntry,
    OutboxMessage,
    SendLane,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    User,
)
from app.services.accounts import user_by_email
from app.services.organizations import organization_by_code
from app.tickets.escalation import escalate_overdue
from app.tickets.tickets import NewTicket, open_ticket
from app.tickets.workflow import change_status
from tests.console_support import add_counties_with_places, add_user, csrf_token, log_in, ward_id
from tests.factories import add_contact
from tests.ticket_support import CALLER, NEIGHBOUR, open_one, outbox_to, ticket

BASE = "/console/orgs/nandi"
CALLERS, TICKETS = f"{BASE}/callers", f"{BASE}/tickets"
LONG_AGO = timedelta(days=10)  # past every category's SLA (the longest is 7 days)


class Recorder:
    """A dispatcher that only remembers what it was handed (the outbox rows stay queued)."""

    def __init__(self) -> None:
        self.handed: list[tuple[list[int], SendLane]] = []

    def send_sms(self, outbox_ids: Sequence[int], lane: SendLane, delay: int = 0) -> None:
        self.handed.append((list(outbox_ids), lane))


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties_with_places(runtime)


@pytest.fixture
def handed(runtime, monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(runtime, "dispatcher", recorder)
    return recorder


def signed_in(client, runtime, role: str, org_code: str = "nandi", email: str | None = None):
    assert log_in(client, add_user(runtime, role, org_code, email)).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict, page: str):
    """Post a form with the CSRF token of the page that carries it."""
    return client.post(path, data={"csrf_token": csrf_token(client, page)} | data)


def ticket_id(runtime, reference: str) -> int:
    with runtime.sessions() as db:
        return ticket(db, reference).id


def audit_actions(runtime) -> list[tuple[str, dict]]:
    with runtime.sessions() as db:
        return [(e.action, e.detail) for e in db.scalars(select(AuditEntry)
                                                          .order_by(AuditEntry.id))]


def references_in(html: str) -> list[str]:
    """Ticket references in the order the page lists them (row headers link to tickets)."""
    return re.findall(r'<th scope="row"><a href="[^"]*/tickets/\d+">(\d+)</a></th>', html)


# -- the caller on the line ------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0722 000 111", "+254 722 000111", "254722000111",
                                   "0722-000-111"])
def test_an_agent_sees_the_callers_tickets_whatever_way_the_number_is_typed(client, runtime,
                                                                             typed):
    late = open_one(runtime, now=utcnow() - LONG_AGO)
    recent = open_one(runtime, category=TicketCategory.CORRUPTION)
    other = open_one(runtime, msisdn=NEIGHBOUR)
    signed_in(client, runtime, "agent")
    html = text(client.get(CALLERS, query_string={"phone": typed}))
    assert "This caller's tickets" in html
    assert references_in(html) == [recent, late]  # newest first; the neighbour's is not here
    assert other not in html
    late_row = html.split(f">{late}</a>")[1].split("</tr>")[0]
    assert "overdue" in late_row and "Service delivery" in late_row
    assert "overdue" not in html.split(f">{recent}</a>")[1].split("</tr>")[0]
    assert f'name="phone" value="{CALLER}"' in html  # the form is prefilled with the number
    assert 'id="description"' in html and "autofocus" in html


def test_officers_see_a_callers_tickets_but_get_no_complaint_form(client, runtime):
    reference = open_one(runtime)
    signed_in(client, runtime, "officer")
    html = text(client.get(CALLERS, query_string={"phone": "0722000111"}))
    assert reference in html
    assert "Log a complaint" not in html
    assert post(client, TICKETS, {"phone": CALLER, "category": "service",
                                  "description": "x"}, "/console/").status_code == 403


def test_logging_a_complaint_makes_a_ticket_and_queues_the_callers_sms(client, runtime,
                                                                       handed):
    add_contact(runtime, "nandi", CALLER, "en")
    signed_in(client, runtime, "agent")
    page = f"{CALLERS}?phone=0722000111"
    place = ward_id(runtime, "nandi", "0751")
    response = post(client, TICKETS, {"phone": CALLER, "category": "corruption",
                                      "place": str(place), "project": "",
                                      "description": "  Clerk asked for  money ",
                                      "priority": "high"}, page)
    assert response.status_code == 302
    assert response.location == f"{CALLERS}?phone=%2B254722000111"
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
        agent = user_by_email(db, "agent@nandi.example.org")
        assert (made.msisdn, made.channel, made.category, made.place_id, made.priority,
                made.description, made.created_by_id, made.language) == (
            CALLER, TicketChannel.AGENT, TicketCategory.CORRUPTION, place,
            TicketPriority.HIGH, "Clerk asked for money", agent.id, "en")
        (notice,) = outbox_to(db, CALLER)
        notice_id = db.scalar(select(OutboxMessage.id))
    assert notice.startswith(f"Complaint received. Ref {made.reference}. We aim to resolve it")
    assert handed.handed == [([notice_id], SendLane.NOTICE)]
    assert audit_actions(runtime) == [("ticket.create", {"reference": made.reference,
                                                         "category": "corruption"})]
    after = text(client.get(response.location))
    assert f"Logged complaint {made.reference}; the caller gets an SMS" in after
    assert references_in(after) == [made.reference]


def test_the_same_complaint_form_sent_twice_opens_one_ticket(client, runtime, handed):
    signed_in(client, runtime, "agent")
    page = text(client.get(CALLERS, query_string={"phone": CALLER}))
    form_key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "phone": CALLER, "category": "service", "priority": "normal",
            "description": "Borehole broken", "form_key": form_key}
    assert client.post(TICKETS, data=form).status_code == 302
    again = client.post(TICKETS, data=form)  # a double Enter, or the browser resending
    assert again.status_code == 302
    with runtime.sessions() as db:
        (made,) = db.scalars(select(Ticket)).all()
        assert made.source_key == f"console:{form_key}"
        assert len(outbox_to(db, CALLER)) == 1
    assert f"Already logged as complaint {made.reference}." in text(client.get(again.location))
    assert len(handed.handed) == 1 and len(audit_actions(runtime)) == 1
    fresh = text(client.get(CALLERS, query_string={"phone": CALLER}))
    assert f'name="form_key" value="{form_key}"' not in fresh  # the next complaint is new


@pytest.mark.parametrize(("change", "message"), [
    ({"description": "  "}, "Write down what the caller says."),
    ({"category": "weather"}, "Choose a category."),
    ({"project": "NA-999"}, "No project has the code NA-999."),
    ({"place": "999999"}, "Choose a ward of this county."),
])
def test_a_complaint_form_with_a_mistake_is_refused_and_kept(client, runtime, handed, change,
                                                            message):
    signed_in(client, runtime, "supervisor")
    form = {"phone": CALLER, "category": "service", "description": "Borehole broken",
            "priority": "normal"} | change
    response = post(client, TICKETS, form, f"{CALLERS}?phone={CALLER}")
    assert response.status_code == 400
    html = text(response)
    assert message in html and "Log a complaint for this caller" in html
    assert ("Borehole broken" in html) == ("description" not in change)  # the typing is kept
    with runtime.sessions() as db:
        assert db.scalar(select(Ticket)) is None
    assert handed.handed == []


def test_a_complaint_without_a_valid_number_says_so(client, runtime):
    signed_in(client, runtime, "agent")
    response = post(client, TICKETS, {"phone": "12", "category": "service",
                                      "description": "x"}, CALLERS)
    assert response.status_code == 400
    assert "12 is not a valid phone number in KE" in text(response)


# -- a ticket's page and its changes ------------------------------------------------------------


def test_assign_status_priority_and_comment_are_history_audit_and_notices(client, runtime,
                                                                        handed):
    add_contact(runtime, "nandi", CALLER, "en")
    reference = open_one(runtime)
    add_user(runtime, "agent", "nandi")
    signed_in(client, runtime, "supervisor")
    page = f"{TICKETS}/{ticket_id(runtime, reference)}"
    with runtime.sessions() as db:
        agent_id = user_by_email(db, "agent@nandi.example.org").id
        before = len(outbox_to(db, CALLER))

    assert post(client, f"{page}/assign", {"assignee": str(agent_id)}, page).status_code == 302
    assert post(client, f"{page}/priority", {"priority": "urgent"}, page).status_code == 302
    assert post(client, f"{page}/comment", {"comment": "Called the ward officer"},
                page).status_code == 302
    assert post(client, f"{page}/status", {"status": "progress", "note": "On it"},
                page).status_code == 302
    assert post(client, f"{page}/assign", {"assignee": "me"}, page).status_code == 302
    done = post(client, f"{page}/status", {"status": "resolved"}, page)
    assert done.status_code == 302 and done.location == page
    assert "is now resolved; the caller gets an SMS." in text(client.get(page))

    with runtime.sessions() as db:
        made = ticket(db, reference)
        supervisor = user_by_email(db, "supervisor@nandi.example.org")
        assert (made.status, made.priority, made.assignee_id) == (
            TicketStatus.RESOLVED, TicketPriority.URGENT, supervisor.id)
        notices = outbox_to(db, CALLER)[before:]
    assert notices == [f"Complaint {reference} is now assigned to an officer. "
                       f"Send STATUS {reference} for details.",
                       f"Complaint {reference} is now in progress. "
                       f"Send STATUS {reference} for details.",
                       f"Complaint {reference} is resolved. Are you satisfied? "
                       "Reply 1 for yes or 2 for no."]
    assert [len(ids) for ids, lane in handed.handed] == [1, 1, 1]
    assert {lane for ids, lane in handed.handed} == {SendLane.NOTICE}

    html = text(client.get(page))
    history = html.split('id="ticket-history"')[1]
    whats = re.findall(r'<th scope="row">([^<]+)</th>', history)
    assert whats == ["Opened by sms", "Assigned to Agent of nandi", "Status New → Assigned",
                     "Priority Normal → Urgent", "Comment", "Status Assigned → In progress",
                     "Assigned to Supervisor of nandi", "Status In progress → Resolved"]
    assert "Called the ward officer" in history and "On it" in history
    assert "Supervisor of nandi" in history.split("Comment")[0].rsplit("<tr>", 1)[1]
    assert [action for action, _ in audit_actions(runtime)] == [
        "ticket.assign", "ticket.priority", "ticket.comment", "ticket.status", "ticket.assign",
        "ticket.status"]
    assert audit_actions(runtime)[1][1] == {"reference": reference, "from": "normal",
                                            "to": "urgent"}
    assert "Called the ward officer" not in str(audit_actions(runtime))  # words stay in history


def test_the_status_form_offers_only_the_next_statuses(client, runtime):
    reference = open_one(runtime)
    signed_in(client, runtime, "agent")
    html = text(client.get(f"{TICKETS}/{ticket_id(runtime, reference)}"))
    form = html.split('id="status"')[1].split("</select>")[0]
    assert re.findall(r'value="(\w+)"', form) == ["assigned", "progress", "resolved", "closed"]


def test_a_refused_change_says_why_and_changes_nothing(client, runtime, handed):
    reference = open_one(runtime)
    with runtime.sessions.begin() as db:
        change_status(db, runtime.desk, ticket(db, reference), TicketStatus.CLOSED, None)
    signed_in(client, runtime, "agent")
    page = f"{TICKETS}/{ticket_id(runtime, reference)}"
    response = post(client, f"{page}/status", {"status": "progress"}, page)
    assert response.status_code == 400
    assert f"Cannot change {reference}: a closed ticket cannot become progress." in text(response)
    assert post(client, f"{page}/status", {"status": "nonsense"}, page).status_code == 400
    assert post(client, f"{page}/comment", {"comment": "   "}, page).status_code == 400
    makueni_agent = add_user(runtime, "agent", "makueni", "elsewhere@makueni.example.org")
    with runtime.sessions() as db:
        stranger = user_by_email(db, makueni_agent).id
        approver = add_user(runtime, "approver", "nandi")
        approver_id = user_by_email(db, approver).id
    for someone in (stranger, approver_id, 999_999):
        refused = post(client, f"{page}/assign", {"assignee": str(someone)}, page)
        assert refused.status_code == 400
        assert "choose an agent or supervisor of this organization" in text(refused)
    with runtime.sessions() as db:
        made = ticket(db, reference)
        assert (made.status, made.assignee_id, len(made.events)) == (TicketStatus.CLOSED,
                                                                     None, 2)
    assert audit_actions(runtime) == [] and handed.handed == []


def test_officers_read_a_ticket_but_change_nothing(client, runtime):
    reference = open_one(runtime)
    signed_in(client, runtime, "officer")
    page = f"{TICKETS}/{ticket_id(runtime, reference)}"
    html = text(client.get(page))
    assert f"Ticket {reference}" in html and "No water at Kapsabet market" in html
    assert "Work on this ticket" not in html
    token = csrf_token(client, page)
    for action, data in (("assign", {"assignee": "me"}), ("status", {"status": "closed"}),
                         ("priority", {"priority": "low"}), ("comment", {"comment": "x"})):
        assert client.post(f"{page}/{action}", data={"csrf_token": token} | data
                           ).status_code == 403
    with runtime.sessions() as db:
        assert ticket(db, reference).status == TicketStatus.NEW


def test_a_recorded_complaint_has_a_player_allowed_by_the_page_policy(client, runtime):
    with runtime.sessions.begin() as db:
        new = NewTicket(organization_id=organization_by_code(db, "nandi").id,
                        channel=TicketChannel.VOICE, category=TicketCategory.OTHER,
                        description="", msisdn=CALLER,
                        recording_url="https://rec.example.africastalking.com/a1.mp3")
        reference = open_ticket(db, runtime.desk, new).ticket.reference
    signed_in(client, runtime, "agent")
    response = client.get(f"{TICKETS}/{ticket_id(runtime, reference)}")
    assert '<audio controls preload="none" src="https://rec.example.africastalking.com/a1.mp3"' \
        in text(response)
    policy = response.headers["Content-Security-Policy"]
    assert policy.endswith("; media-src https://rec.example.africastalking.com")
    assert "default-src 'self'" in policy


# -- the list ---------------------------------------------------------------------------------


def test_overdue_open_tickets_come_first_then_by_due_time(client, runtime):
    now = utcnow()
    fresh = open_one(runtime, category=TicketCategory.COMPLIMENT, now=now)  # due in 7 days
    soon = open_one(runtime, category=TicketCategory.CORRUPTION, now=now)  # due in 2 days
    very_late = open_one(runtime, now=now - 2 * LONG_AGO)
    late = open_one(runtime, msisdn=NEIGHBOUR, now=now - LONG_AGO)
    done_late = open_one(runtime, now=now - 3 * LONG_AGO)
    with runtime.sessions.begin() as db:
        change_status(db, runtime.desk, ticket(db, done_late), TicketStatus.RESOLVED, None)
    signed_in(client, runtime, "agent")
    assert references_in(text(client.get(TICKETS))) == [very_late, late, soon, fresh]
    assert references_in(text(client.get(TICKETS, query_string={"status": "all"}))) == [
        very_late, late, done_late, soon, fresh]  # a resolved ticket is no longer overdue
    assert references_in(text(client.get(TICKETS, query_string={"overdue": "1"}))) == [
        very_late, late]
    assert references_in(text(client.get(TICKETS, query_string={
        "status": "resolved"}))) == [done_late]
    assert references_in(text(client.get(TICKETS, query_string={
        "category": "corruption"}))) == [soon]
    assert references_in(text(client.get(TICKETS, query_string={"age": "older"}))) == [
        very_late, late]


def test_the_list_filters_by_ward_and_assignee_and_pages_with_its_filters(client, runtime,
                                                                         monkeypatch):
    monkeypatch.setattr(ticket_views, "PAGE_SIZE", 2)
    refs = [open_one(runtime, now=utcnow() - timedelta(minutes=n)) for n in range(3)]
    other = open_one(runtime, category=TicketCategory.ENQUIRY)
    place = ward_id(runtime, "nandi", "0751")
    signed_in(client, runtime, "agent")
    with runtime.sessions.begin() as db:
        agent = user_by_email(db, "agent@nandi.example.org")
        for reference in refs:
            ticket(db, reference).place_id = place
        ticket(db, refs[0]).assignee_id = agent.id
    first = text(client.get(TICKETS, query_string={"place": place, "category": "service"}))
    assert references_in(first) == [refs[2], refs[1]]  # due soonest first
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert f"place={place}" in next_link and "category=service" in next_link
    assert references_in(text(client.get(next_link))) == [refs[0]]
    assert references_in(text(client.get(TICKETS, query_string={"mine": "1"}))) == [refs[0]]
    assert references_in(text(client.get(TICKETS, query_string={
        "assignee": str(agent.id)}))) == [refs[0]]
    unassigned = text(client.get(TICKETS, query_string={"assignee": "none", "place": place}))
    assert references_in(unassigned) == [refs[2], refs[1]]
    assert other not in unassigned


def test_a_reference_typed_into_the_list_opens_the_ticket_or_says_what_is_wrong(client,
                                                                                 runtime):
    reference = open_one(runtime)
    signed_in(client, runtime, "agent")
    spaced = f"{reference[:3]} {reference[3:]}"
    found = client.get(TICKETS, query_string={"ref": spaced})
    assert found.status_code == 302
    assert found.location == f"{TICKETS}/{ticket_id(runtime, reference)}"
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    mistyped = client.get(TICKETS, query_string={"ref": wrong})
    assert mistyped.status_code == 404
    assert "is not a valid reference: a digit is mistyped or missing" in text(mistyped)
    makueni_ref = open_one(runtime, org_code="makueni")  # valid, but not Nandi's
    unknown = client.get(TICKETS, query_string={"ref": makueni_ref})
    assert unknown.status_code == 404
    assert f"No ticket of Nandi County has the reference {makueni_ref}" in text(unknown)


# -- the dashboard ---------------------------------------------------------------------------


def counts_of(html: str, table: str) -> dict[str, tuple[int, str | None]]:
    """A dashboard table: label -> (count, the link behind it)."""
    body = html.split(f'id="{table}"')[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">'
                      r'(?:<a href="([^"]+)">)?(\d+)', body)
    return {label: (int(n), link.replace("&amp;", "&") or None) for label, link, n in rows}


def test_the_dashboard_counts_open_tickets_and_sla_breaches_with_links(client, runtime):
    now = utcnow()
    place = ward_id(runtime, "nandi", "0751")
    fresh = open_one(runtime, category=TicketCategory.CORRUPTION, now=now)
    two_days = open_one(runtime, now=now - timedelta(days=2))
    late = open_one(runtime, now=now - LONG_AGO)
    later = open_one(runtime, category=TicketCategory.PROJECT, now=now - 2 * LONG_AGO)
    closed = open_one(runtime, now=now - LONG_AGO)
    with runtime.sessions.begin() as db:
        desk = runtime.desk
        change_status(db, desk, ticket(db, closed), TicketStatus.CLOSED, None)
        ticket(db, fresh).place_id = place
        ticket(db, late).place_id = place
    with runtime.sessions.begin() as db:
        escalate_overdue(db, runtime.desk, now - LONG_AGO)  # `later` only: due 13 days ago
    signed_in(client, runtime, "supervisor")
    html = text(client.get(f"{TICKETS}/dashboard"))
    assert re.search(r'id="open-total"><strong>4</strong>', html)
    assert re.search(r'id="overdue-total"><strong>2</strong>', html)
    assert re.search(r'id="escalated-total"><strong>1</strong>', html)
    assert references_in(html.split('id="most-overdue"')[1]) == [later, late]
    by_category = counts_of(html, "by-category")
    assert by_category["Service delivery"] == (2, f"{TICKETS}?category=service")
    assert by_category["Corruption"][0] == 1 and by_category["Enquiry"] == (0, None)
    assert by_category["A county project"][0] == 1
    assert counts_of(html, "by-age") == {
        "Less than a day": (1, f"{TICKETS}?age=day"), "1 to 3 days": (1, f"{TICKETS}?age=days"),
        "3 to 7 days": (0, None), "More than 7 days": (2, f"{TICKETS}?age=older")}
    assert counts_of(html, "by-place") == {"Songhor/Soba": (2, f"{TICKETS}?place={place}"),
                                           "No place given": (2, None)}
    assert counts_of(html, "by-status")["New"][0] == 4
    # Each link shows exactly the tickets its number counts.
    for table in ("by-category", "by-age", "by-place"):
        for count, link in counts_of(html, table).values():
            if link:
                assert len(references_in(text(client.get(link)))) == count, link
    assert references_in(text(client.get(f"{TICKETS}?escalated=1"))) == [later]
    assert two_days in text(client.get(f"{TICKETS}?age=days"))


def test_agents_have_no_dashboard_and_see_only_their_links(client, app, runtime):
    signed_in(client, runtime, "agent")
    assert client.get(f"{TICKETS}/dashboard").status_code == 403
    nav = text(client.get(BASE)).split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert ">Tickets</a>" in nav and "Ticket dashboard" not in nav
    supervisor = signed_in(app.test_client(), runtime, "supervisor")
    nav = text(supervisor.get(BASE)).split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert ">Tickets</a>" in nav and "Ticket dashboard" in nav and "Caller lookup" in nav


# -- walls and forms ---------------------------------------------------------------------------


def test_another_organizations_ticket_is_not_found(client, runtime, handed):
    makueni_ticket = open_one(runtime, org_code="makueni")
    signed_in(client, runtime, "supervisor")
    foreign = ticket_id(runtime, makueni_ticket)
    page = f"{TICKETS}/{foreign}"
    assert client.get(page).status_code == 404
    token = csrf_token(client, TICKETS)
    for action, data in (("assign", {"assignee": "me"}), ("status", {"status": "closed"}),
                         ("priority", {"priority": "low"}), ("comment", {"comment": "x"})):
        assert client.post(f"{page}/{action}", data={"csrf_token": token} | data
                           ).status_code == 404
    assert client.get(f"/console/orgs/makueni/tickets/{foreign}").status_code == 404
    assert makueni_ticket not in text(client.get(TICKETS, query_string={"status": "all"}))
    with runtime.sessions() as db:
        made = ticket(db, makueni_ticket)
        assert (made.status, made.assignee_id, len(made.events)) == (TicketStatus.NEW, None, 1)
    assert handed.handed == []


def test_every_ticket_form_carries_a_csrf_token_and_posts_without_one_are_refused(client,
                                                                                   runtime):
    reference = open_one(runtime)
    signed_in(client, runtime, "admin")
    page = f"{TICKETS}/{ticket_id(runtime, reference)}"
    html = text(client.get(page))
    assert html.count('method="post"') == html.count('name="csrf_token"') == 6  # 5 + sign out
    caller_page = text(client.get(CALLERS, query_string={"phone": CALLER}))
    assert caller_page.count('method="post"') == caller_page.count('name="csrf_token"') == 2
    for action, data in (("assign", {"assignee": "me"}), ("status", {"status": "closed"}),
                         ("priority", {"priority": "low"}), ("comment", {"comment": "x"})):
        assert client.post(f"{page}/{action}", data=data).status_code == 400
    assert client.post(TICKETS, data={"phone": CALLER, "category": "service",
                                      "description": "x"}).status_code == 400
    with runtime.sessions() as db:
        assert db.scalar(select(Ticket.status)) == TicketStatus.NEW
        assert len(db.scalars(select(Ticket)).all()) == 1


# -- users' phones -----------------------------------------------------------------------------


def test_an_admin_sets_a_supervisors_phone_for_escalations(client, runtime):
    supervisor_email = add_user(runtime, "supervisor", "nandi")
    signed_in(client, runtime, "admin")
    users = f"{BASE}/users"
    with runtime.sessions() as db:
        supervisor_id = user_by_email(db, supervisor_email).id
    path = f"{users}/{supervisor_id}/phone"
    assert post(client, path, {"msisdn": "0733 000 999"}, users).status_code == 302
    assert "Supervisor of nandi: phone set to +254733000999." in text(client.get(users))
    bad = post(client, path, {"msisdn": "12345"}, users)
    assert bad.status_code == 400 and "12345 is not a valid phone number in KE" in text(bad)
    with runtime.sessions() as db:
        assert db.get(User, supervisor_id).msisdn == "+254733000999"
    assert audit_actions(runtime) == [("user.phone", {"email": supervisor_email,
                                                      "phone": "+2547****0999"})]
    makueni_user = add_user(runtime, "agent", "makueni")
    with runtime.sessions() as db:
        foreign = user_by_email(db, makueni_user).id
    assert post(client, f"{users}/{foreign}/phone", {"msisdn": "0733000111"},
                users).status_code == 404
