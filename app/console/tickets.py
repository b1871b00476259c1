"""Complaint tickets in the console: logging one for a caller, the list, a ticket's page and
the changes agents make to it.

Every change goes through app.tickets.workflow, is audited in the same transaction, and the
notices it queued go to the dispatcher only after commit. The caller page (`contacts.py`)
shows a caller's tickets and the complaint form; the supervisors' dashboard is
`ticket_dashboard.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.contacts import render_callers
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.console.ticket_forms import (
    AGES,
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    NO_ASSIGNEE,
    PRIORITY_LABELS,
    STATUS_LABELS,
    TicketFormError,
    filtered,
    read_filters,
    read_new_ticket,
)
from app.db.base import utcnow
from app.db.models import (
    Organization,
    Project,
    SendLane,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
    User,
)
from app.digits import id_or_none, is_whole
from app.services import audit
from app.services import contacts as contact_service
from app.services.paging import fetch_page
from app.services.places import wards_of
from app.tickets import workflow
from app.tickets.desk import Desk
from app.tickets.escalation import overdue_first
from app.tickets.sla import is_overdue
from app.tickets.tickets import Found, TicketRefused, look_up, open_ticket
from app.web.page_headers import STRICT_POLICY

PAGE_SIZE = 50
ME = "me"


@bp.app_template_global("ticket_overdue")
def ticket_overdue(ticket: Ticket, now: datetime) -> bool:
    return is_overdue(ticket.status, ticket.due_at, now)


def _runtime():
    return current_app.extensions["baraza"]


def _desk() -> Desk:
    return _runtime().desk


def ticket_or_404(org: Organization, ticket_id: int) -> Ticket:
    ticket = db().get(Ticket, ticket_id)
    if ticket is None or ticket.organization_id != org.id:
        abort(404)  # another organization's ticket is as absent as one that never existed
    return ticket


def workers_of(session, org: Organization) -> list[User]:
    """Who may be given a ticket: the organization's active call-centre hands and admins."""
    return list(session.scalars(select(User).where(
        User.organization_id == org.id, User.active.is_(True),
        User.role.in_([str(role) for role in ROLES[Permission.WORK_TICKETS]]))
        .order_by(User.name, User.id)))


@bp.post("/orgs/<code>/tickets")
@login_required(roles=ROLES[Permission.LOG_TICKETS])
def log_ticket(code: str) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    session = db()
    form = {name: request.form.get(name, "") for name in
            ("phone", "category", "place", "project", "description", "priority", "form_key")}
    try:
        contact = _contact(session, org, form["phone"])
        new = read_new_ticket(session, org, form, g.user, contact.language if contact else None)
        opened = open_ticket(session, _desk(), new)
    except (TicketFormError, TicketRefused) as exc:
        session.rollback()
        return render_callers(org, form["phone"].strip(), form, str(exc))
    ticket = opened.ticket
    if not opened.created:  # this form was sent before (a double Enter, a resent POST)
        flash(f"Already logged as complaint {ticket.reference}.")
        return redirect(url_for("console.callers", code=org.code, phone=ticket.msisdn))
    audit.record(session, g.user, "ticket.create", "ticket", ticket.id,
                 {"reference": ticket.reference, "category": str(ticket.category)},
                 organization_id=org.id)
    session.commit()
    _send(opened.outbox_ids)
    flash(f"Logged complaint {ticket.reference}"
          + ("; the caller gets an SMS with the reference." if opened.outbox_ids else "."))
    return redirect(url_for("console.callers", code=org.code, phone=ticket.msisdn))


def _contact(session, org: Organization, phone: str):
    try:
        return contact_service.find_contact(session, org.id, normalise_msisdn(phone, org.country))
    except InvalidPhoneNumber:
        return None  # read_new_ticket says what is wrong with it


def _send(outbox_ids: list[int]) -> None:
    if outbox_ids:
        _runtime().dispatcher.send_sms(outbox_ids, SendLane.NOTICE)  # after commit, never before


@bp.get("/orgs/<code>/tickets")
@login_required(roles=ROLES[Permission.VIEW_TICKETS])
def ticket_list(code: str) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    session = db()
    typed = request.args.get("ref", "").strip()
    search_error = None
    if typed:
        found = look_up(session, org.id, typed, None)
        if found.found == Found.YOURS:
            return redirect(url_for("console.ticket_page", code=org.code,
                                    ticket_id=found.ticket.id))
        search_error = (f"{typed} is not a valid reference: a digit is mistyped or missing."
                        if found.found == Found.MISTYPED
                        else f"No ticket of {org.name} has the reference {found.reference}.")
    filters = read_filters(request.args)
    now = utcnow()
    statement = (filtered(org.id, filters, g.user, now).order_by(*overdue_first(now))
                 .options(selectinload(Ticket.place)))  # the ward column: one query, not 50
    page = fetch_page(session, statement, request.args.get("page", 1, type=int), PAGE_SIZE)
    workers = workers_of(session, org)
    html = render_template(
        "console/tickets.html", org=org, page=page, filters=filters, now=now,
        wards=wards_of(session, org.id), workers=workers, names=_names(session, page.items),
        status_labels=STATUS_LABELS, category_labels=CATEGORY_LABELS, ages=AGES,
        priority_labels=PRIORITY_LABELS, no_assignee=NO_ASSIGNEE, typed=typed,
        search_error=search_error)
    return (html, 404) if search_error else html


def _names(session, tickets: list[Ticket]) -> dict[int, str]:
    return _user_names(session, {t.assignee_id for t in tickets if t.assignee_id is not None})


def _user_names(session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    who: str
    what: str
    note: str | None


def timeline_of(session, ticket: Ticket) -> list[TimelineLine]:
    """The ticket's history in words, oldest first, with the names of who did what."""
    events = list(ticket.events)
    ids = {e.user_id for e in events if e.user_id is not None}
    ids |= {int(v) for e in events if e.kind == TicketEventKind.ASSIGNED
            for v in (e.from_value, e.to_value) if v and is_whole(v)}
    names = _user_names(session, ids)
    return [TimelineLine(e.at, _who(e, names), _what(e, ticket, names), e.note) for e in events]


def _who(event: TicketEvent, names: dict[int, str]) -> str:
    if event.user_id is not None:
        return names.get(event.user_id, "a former user")
    return "Baraza (automatic)" if event.kind == TicketEventKind.ESCALATED else "The caller"


def _what(event: TicketEvent, ticket: Ticket, names: dict[int, str]) -> str:
    kind = TicketEventKind(event.kind)
    if kind == TicketEventKind.CREATED:
        return f"Opened by {CHANNEL_LABELS[ticket.channel].lower()}"
    if kind == TicketEventKind.STATUS:
        return (f"Status {STATUS_LABELS[TicketStatus(event.from_value)]} → "
                f"{STATUS_LABELS[TicketStatus(event.to_value)]}")
    if kind == TicketEventKind.ASSIGNED:
        if event.to_value is None:
            return f"Unassigned (was {_name_of(event.from_value, names)})"
        return f"Assigned to {_name_of(event.to_value, names)}"
    if kind == TicketEventKind.PRIORITY:
        return (f"Priority {PRIORITY_LABELS[TicketPriority(event.from_value)]} → "
                f"{PRIORITY_LABELS[TicketPriority(event.to_value)]}")
    if kind == TicketEventKind.ESCALATED:
        return "Overdue: escalated to the supervisors"
    if kind == TicketEventKind.SATISFACTION:
        return f"Caller answered: {event.to_value}"
    return "Comment"


def _name_of(value: str | None, names: dict[int, str]) -> str:
    return names.get(int(value), "a former user") if value and is_whole(value) else "nobody"


@bp.get("/orgs/<code>/tickets/<int:ticket_id>")
@login_required(roles=ROLES[Permission.VIEW_TICKETS])
def ticket_page(code: str, ticket_id: int) -> Response:
    org = organization_or_404(code)
    return render_ticket(org, ticket_or_404(org, ticket_id))


def render_ticket(org: Organization, ticket: Ticket, error: str | None = None) -> Response:
    session = db()
    response = current_app.make_response(render_template(
        "console/ticket.html", org=org, ticket=ticket, now=utcnow(),
        timeline=timeline_of(session, ticket), workers=workers_of(session, org),
        assignee=session.get(User, ticket.assignee_id) if ticket.assignee_id else None,
        project=session.get(Project, ticket.project_id) if ticket.project_id else None,
        next_statuses=[s for s in TicketStatus if s in workflow.NEXT[TicketStatus(ticket.status)]],
        status_labels=STATUS_LABELS, category_labels=CATEGORY_LABELS,
        priority_labels=PRIORITY_LABELS, channel_labels=CHANNEL_LABELS, me=ME, error=error))
    origin = _recording_origin(ticket.recording_url)
    if origin:  # the player streams from AT's storage: allow that one origin for media only
        response.headers["Content-Security-Policy"] = f"{STRICT_POLICY}; media-src {origin}"
    if error:
        response.status_code = 400
    return response


def _recording_origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"https://{parts.netloc}" if parts.scheme == "https" and parts.netloc else None


@bp.post("/orgs/<code>/tickets/<int:ticket_id>/assign")
@login_required(roles=ROLES[Permission.WORK_TICKETS])
def assign_ticket(code: str, ticket_id: int) -> Response:
    org = organization_or_404(code)
    ticket = ticket_or_404(org, ticket_id)
    session, before = db(), ticket.assignee_id
    try:
        assignee = _assignee(session, org, request.form.get("assignee", ""))
        outbox_ids = workflow.assign(session, _desk(), ticket, assignee, g.user)
    except workflow.ChangeRefused as exc:
        return _refused(org, ticket, f"Cannot assign {ticket.reference}: {exc}.")
    who = assignee.name if assignee else "nobody"
    return _done(org, ticket, outbox_ids, before != ticket.assignee_id, "ticket.assign",
                 {"from": before, "to": ticket.assignee_id},
                 f"{ticket.reference} is now assigned to {who}")


def _assignee(session, org: Organization, value: str) -> User | None:
    if value == NO_ASSIGNEE:
        return None
    if value == ME:
        return g.user
    number = id_or_none(value)
    user = session.get(User, number) if number is not None else None
    if user is None or user not in workers_of(session, org):
        raise workflow.ChangeRefused("choose an agent or supervisor of this organization")
    return user


@bp.post("/orgs/<code>/tickets/<int:ticket_id>/status")
@login_required(roles=ROLES[Permission.WORK_TICKETS])
def change_ticket_status(code: str, ticket_id: int) -> Response:
    org = organization_or_404(code)
    ticket = ticket_or_404(org, ticket_id)
    session, before = db(), TicketStatus(ticket.status)
    note = request.form.get("note", "").strip()[:workflow.MAX_NOTE] or None
    try:
        wanted = TicketStatus(request.form.get("status", ""))
    except ValueError:
        return _refused(org, ticket, "Choose the new status.")
    try:
        outbox_ids = workflow.change_status(session, _desk(), ticket, wanted, g.user, note)
    except workflow.ChangeRefused as exc:
        return _refused(org, ticket, f"Cannot change {ticket.reference}: {exc}.")
    return _done(org, ticket, outbox_ids, before != ticket.status, "ticket.status",
                 {"from": str(before), "to": str(ticket.status)},
                 f"{ticket.reference} is now {STATUS_LABELS[TicketStatus(ticket.status)].lower()}")


@bp.post("/orgs/<code>/tickets/<int:ticket_id>/priority")
@login_required(roles=ROLES[Permission.WORK_TICKETS])
def change_ticket_priority(code: str, ticket_id: int) -> Response:
    org = organization_or_404(code)
    ticket = ticket_or_404(org, ticket_id)
    session, before = db(), TicketPriority(ticket.priority)
    try:
        wanted = TicketPriority(request.form.get("priority", ""))
    except ValueError:
        return _refused(org, ticket, "Choose a priority.")
    workflow.set_priority(session, ticket, wanted, g.user)
    return _done(org, ticket, [], before != ticket.priority, "ticket.priority",
                 {"from": str(before), "to": str(ticket.priority)},
                 f"{ticket.reference} now has {PRIORITY_LABELS[wanted].lower()} priority")


@bp.post("/orgs/<code>/tickets/<int:ticket_id>/comment")
@login_required(roles=ROLES[Permission.WORK_TICKETS])
def comment_ticket(code: str, ticket_id: int) -> Response:
    org = organization_or_404(code)
    ticket = ticket_or_404(org, ticket_id)
    try:
        workflow.comment(db(), ticket, g.user, request.form.get("comment", ""))
    except workflow.ChangeRefused as exc:
        return _refused(org, ticket, f"Cannot add the comment: {exc}.")
    # The audit says a comment was added; its words stay in the ticket's history only.
    return _done(org, ticket, [], True, "ticket.comment", {},
                 f"Comment added to {ticket.reference}")


def _refused(org: Organization, ticket: Ticket, message: str) -> Response:
    db().rollback()
    return render_ticket(org, ticket, error=message)


def _done(org: Organization, ticket: Ticket, outbox_ids: list[int], changed: bool, action: str,
          detail: dict, message: str) -> Response:
    """Audit, commit, then hand the caller's notices to the dispatcher; back to the ticket."""
    session = db()
    if not changed:
        flash("Nothing changed.")
    else:
        audit.record(session, g.user, action, "ticket", ticket.id,
                     {"reference": ticket.reference} | detail, organization_id=org.id)
        session.commit()
        _send(outbox_ids)
        flash(message + ("; the caller gets an SMS." if outbox_ids else "."))
    return redirect(url_for("console.ticket_page", code=org.code, ticket_id=ticket.id))
