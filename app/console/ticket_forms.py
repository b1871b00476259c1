"""What the ticket pages read from a form or a query string, checked before a service runs.

A complaint form becomes a `NewTicket`; the list's query string becomes `Filters`, which both
the list and the dashboard's links use, so a dashboard number and the list behind it agree.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Select, select

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.console.permissions import Permission, allows
from app.db.base import utcnow
from app.db.models import (
    Organization,
    Place,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    User,
)
from app.digits import id_or_none
from app.pmc.projects import find_project
from app.services.places import wards_of
from app.tickets.sla import OPEN
from app.tickets.tickets import MAX_DESCRIPTION, NewTicket, tickets_of_caller

STATUS_LABELS = {TicketStatus.NEW: "New", TicketStatus.ASSIGNED: "Assigned",
                 TicketStatus.IN_PROGRESS: "In progress", TicketStatus.RESOLVED: "Resolved",
                 TicketStatus.CLOSED: "Closed", TicketStatus.REOPENED: "Reopened"}
CATEGORY_LABELS = {TicketCategory.SERVICE_DELIVERY: "Service delivery",
                   TicketCategory.PROJECT: "A county project",
                   TicketCategory.CORRUPTION: "Corruption",
                   TicketCategory.COMPLIMENT: "Compliment", TicketCategory.ENQUIRY: "Enquiry",
                   TicketCategory.OTHER: "Other"}
PRIORITY_LABELS = {TicketPriority.LOW: "Low", TicketPriority.NORMAL: "Normal",
                   TicketPriority.HIGH: "High", TicketPriority.URGENT: "Urgent"}
CHANNEL_LABELS = {TicketChannel.VOICE: "Phone call (voice menu)", TicketChannel.SMS: "SMS",
                  TicketChannel.USSD: "USSD", TicketChannel.AGENT: "Call-centre agent",
                  TicketChannel.REPORT: "Project report"}
OPEN_STATUSES = "open"  # the list's default: what still needs someone
ANY_STATUS = "all"
NO_ASSIGNEE = "none"
# One key per complaint form shown: the ticket's source, so a double Enter or a resent POST
# opens the ticket once (open_ticket returns the one this key opened before).
FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,40}")


@dataclass(frozen=True)
class AgeBucket:
    key: str
    label: str
    from_days: int
    to_days: int | None  # None: no upper bound


AGES = (AgeBucket("day", "Less than a day", 0, 1), AgeBucket("days", "1 to 3 days", 1, 3),
        AgeBucket("week", "3 to 7 days", 3, 7), AgeBucket("older", "More than 7 days", 7, None))
AGE_BY_KEY = {age.key: age for age in AGES}


def caller_desk(db, org: Organization, msisdn: str, user: User | None,
                form: Mapping[str, str] | None = None, error: str | None = None) -> dict:
    """What the caller page adds for the call centre: the caller's tickets and the form."""
    if not allows(user, Permission.VIEW_TICKETS):
        return {}
    form = dict(form or {})
    if not FORM_KEY.fullmatch(form.get("form_key", "")):
        form["form_key"] = secrets.token_urlsafe(16)
    return {"tickets": tickets_of_caller(db, org.id, msisdn), "now": utcnow(),
            "ticket_form": form, "ticket_error": error,
            "wards": wards_of(db, org.id), "category_labels": CATEGORY_LABELS,
            "priority_labels": PRIORITY_LABELS, "status_labels": STATUS_LABELS}


class TicketFormError(ValueError):
    """A complaint form that cannot become a ticket; the message is for the agent."""


def read_new_ticket(db, org: Organization, form: Mapping[str, str], user: User,
                    language: str | None) -> NewTicket:
    """The ticket an agent typed for the caller on the line."""
    try:
        msisdn = normalise_msisdn(form.get("phone", ""), org.country)
    except InvalidPhoneNumber:
        raise TicketFormError("The caller's phone number is not valid; look the caller up "
                              "again.") from None
    category = _choice(TicketCategory, form.get("category", ""), "Choose a category.")
    priority = _choice(TicketPriority, form.get("priority") or TicketPriority.NORMAL,
                       "Choose a priority.")
    place_id = None
    if form.get("place"):
        place = db.get(Place, _number(form["place"]))
        if place is None or place.organization_id != org.id:
            raise TicketFormError("Choose a ward of this county.")
        place_id = place.id
    project_id = None
    if form.get("project", "").strip():
        project = find_project(db, org.id, form["project"])
        if project is None:
            raise TicketFormError(f"No project has the code {form['project'].strip()}.")
        project_id = project.id
    description = " ".join(form.get("description", "").split())
    if not description:
        raise TicketFormError("Write down what the caller says.")
    if len(description) > MAX_DESCRIPTION:
        raise TicketFormError(f"Keep the description under {MAX_DESCRIPTION} characters.")
    return NewTicket(organization_id=org.id, channel=TicketChannel.AGENT, category=category,
                     description=description, msisdn=msisdn, place_id=place_id,
                     project_id=project_id, priority=priority, language=language,
                     created_by_id=user.id, source_key=_source_key(form.get("form_key", "")))


def _source_key(form_key: str) -> str | None:
    return f"console:{form_key}" if FORM_KEY.fullmatch(form_key) else None


def _choice(kind, value: str, message: str):
    try:
        return kind(value)
    except ValueError:
        raise TicketFormError(message) from None


def _number(value: str) -> int:
    return id_or_none(value) or 0


@dataclass(frozen=True)
class Filters:
    status: str = OPEN_STATUSES  # "open", "all" or one TicketStatus
    category: str = ""
    place: int | None = None
    assignee: str = ""  # a user id, or "none" for nobody
    mine: bool = False
    overdue: bool = False
    escalated: bool = False
    age: str = ""  # an AGES key

    def args(self, **changes: object) -> dict[str, str]:
        """The query string that shows this list (with `changes`): links and the pager."""
        chosen = replace(self, **changes)
        values = {"status": "" if chosen.status == OPEN_STATUSES else chosen.status,
                  "category": chosen.category,
                  "place": "" if chosen.place is None else str(chosen.place),
                  "assignee": chosen.assignee, "mine": "1" if chosen.mine else "",
                  "overdue": "1" if chosen.overdue else "",
                  "escalated": "1" if chosen.escalated else "", "age": chosen.age}
        return {name: value for name, value in values.items() if value}

    @property
    def narrowed(self) -> bool:
        return self != Filters()


def read_filters(args: Mapping[str, str]) -> Filters:
    """Unknown values are dropped rather than refused: a stale bookmark still shows a list."""
    status = args.get("status", OPEN_STATUSES)
    if status not in {OPEN_STATUSES, ANY_STATUS} | {s.value for s in TicketStatus}:
        status = OPEN_STATUSES
    category = args.get("category", "")
    assignee = args.get("assignee", "")
    place = args.get("place", "")
    return Filters(
        status=status,
        category=category if category in {c.value for c in TicketCategory} else "",
        place=id_or_none(place),
        assignee=assignee if assignee == NO_ASSIGNEE or id_or_none(assignee) is not None else "",
        mine=args.get("mine") == "1", overdue=args.get("overdue") == "1",
        escalated=args.get("escalated") == "1",
        age=args.get("age", "") if args.get("age", "") in AGE_BY_KEY else "")


def open_or(status: str):
    """The condition for the list's status choice."""
    if status == OPEN_STATUSES:
        return Ticket.status.in_(list(OPEN))
    if status == ANY_STATUS:
        return None
    return Ticket.status == status


def age_condition(age: AgeBucket, now: datetime):
    condition = Ticket.created_at <= now - timedelta(days=age.from_days)
    if age.to_days is not None:
        condition &= Ticket.created_at > now - timedelta(days=age.to_days)
    return condition


def filtered(organization_id: int, filters: Filters, user: User | None,
             now: datetime) -> Select:
    """The organization's tickets these filters keep, not yet ordered."""
    statement = select(Ticket).where(Ticket.organization_id == organization_id)
    conditions = [open_or(filters.status)]
    if filters.category:
        conditions.append(Ticket.category == filters.category)
    if filters.place is not None:
        conditions.append(Ticket.place_id == filters.place)
    if filters.assignee == NO_ASSIGNEE:
        conditions.append(Ticket.assignee_id.is_(None))
    elif filters.assignee:
        conditions.append(Ticket.assignee_id == int(filters.assignee))
    if filters.mine and user is not None:
        conditions.append(Ticket.assignee_id == user.id)
    if filters.overdue:  # what sla.is_overdue says, in SQL
        conditions += [Ticket.status.in_(list(OPEN)), Ticket.due_at <= now]
    if filters.escalated:
        conditions += [Ticket.status.in_(list(OPEN)), Ticket.escalated_at.is_not(None)]
    if filters.age:
        conditions.append(age_condition(AGE_BY_KEY[filters.age], now))
    return statement.where(*[c for c in conditions if c is not None])
