"""The supervisors' dashboard: open tickets by category, place, status and age, and SLA breaches.

Every number links to the ticket list with the filters that count it (`ticket_forms.Filters`),
so the list behind a number always shows the same tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from sqlalchemy import func, select

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.console.ticket_forms import (
    AGES,
    CATEGORY_LABELS,
    STATUS_LABELS,
    Filters,
    age_condition,
    filtered,
)
from app.db.base import utcnow
from app.db.models import Place, Ticket, TicketCategory, TicketStatus
from app.tickets.escalation import overdue_first
from app.tickets.sla import OPEN

OLDEST_SHOWN = 10


@dataclass(frozen=True)
class Count:
    label: str
    count: int
    filters: Filters | None  # the list that shows these tickets (None: no link)


@dataclass(frozen=True)
class Dashboard:
    open_total: int
    overdue: int
    escalated: int
    by_category: list[Count]
    by_status: list[Count]
    by_place: list[Count]
    by_age: list[Count]
    most_overdue: list[Ticket]


def dashboard_of(session, organization_id: int, now: datetime) -> Dashboard:
    """One organization's open tickets, counted a few ways; a handful of small GROUP BYs."""
    is_open = (Ticket.organization_id == organization_id, Ticket.status.in_(list(OPEN)))

    def grouped(column) -> dict:
        return dict(session.execute(select(column, func.count()).where(*is_open)
                                    .group_by(column)).all())

    def counted(*conditions) -> int:
        return session.scalar(select(func.count()).select_from(Ticket)
                              .where(*is_open, *conditions)) or 0

    categories = grouped(Ticket.category)
    statuses = grouped(Ticket.status)
    places = grouped(Ticket.place_id)
    names = dict(session.execute(select(Place.id, Place.name)
                                 .where(Place.id.in_([p for p in places if p]))).all())
    by_place = sorted((Count(names.get(place_id, "?"), n, Filters(place=place_id))
                       for place_id, n in places.items() if place_id is not None),
                      key=lambda c: (-c.count, c.label))
    oldest = filtered(organization_id, Filters(overdue=True), None, now)
    return Dashboard(
        open_total=sum(statuses.values()),
        overdue=counted(Ticket.due_at <= now),
        escalated=counted(Ticket.escalated_at.is_not(None)),
        by_category=[Count(CATEGORY_LABELS[c], categories.get(c.value, 0),
                           Filters(category=c.value)) for c in TicketCategory],
        by_status=[Count(STATUS_LABELS[s], statuses.get(s.value, 0), Filters(status=s.value))
                   for s in TicketStatus if s in OPEN],
        by_place=by_place + ([Count("No place given", places[None], None)]
                             if places.get(None) else []),
        by_age=[Count(age.label, counted(age_condition(age, now)), Filters(age=age.key))
                for age in AGES],
        most_overdue=list(session.scalars(oldest.order_by(*overdue_first(now))
                                          .limit(OLDEST_SHOWN))))


@bp.get("/orgs/<code>/tickets/dashboard")
@login_required(roles=ROLES[Permission.SUPERVISE_TICKETS])
def ticket_dashboard(code: str) -> str:
    org = organization_or_404(code)
    now = utcnow()
    return render_template("console/ticket_dashboard.html", org=org, now=now,
                           board=dashboard_of(db(), org.id, now), Filters=Filters,
                           status_labels=STATUS_LABELS)
