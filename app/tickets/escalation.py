"""Overdue tickets go to the supervisors: marked once, raised to high priority, and announced
by one SMS per supervisor per run (a list of references, not one message per ticket).

Run by the scheduler (`workers.cron`) and by `baraza tickets escalate`; a fixed `now` makes it
testable. Each ticket is claimed by a conditional UPDATE, so two runs never escalate it twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import (
    Organization,
    Role,
    SendLane,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    User,
)
from app.services import outbox
from app.services.dispatch import Dispatcher
from app.tickets import notices
from app.tickets.desk import Desk
from app.tickets.sla import OPEN

log = logging.getLogger(__name__)

RAISED_TO = TicketPriority.HIGH
_BELOW_HIGH = (TicketPriority.LOW, TicketPriority.NORMAL)


@dataclass(frozen=True)
class Escalated:
    ticket_ids: list[int]
    outbox_ids: list[int]


def escalate_overdue(db: Session, desk: Desk, now: datetime | None = None) -> Escalated:
    """Mark every open ticket past its due time that is not yet escalated; tell supervisors."""
    now = now or utcnow()
    candidates = db.scalars(select(Ticket.id).where(Ticket.status.in_(list(OPEN)),
                                                    Ticket.due_at <= now,
                                                    Ticket.escalated_at.is_(None))).all()
    claimed: dict[int, list[Ticket]] = defaultdict(list)
    for ticket_id in candidates:
        if not claim(db, ticket_id, now):
            continue  # another run took it, or it was resolved since the select
        ticket = db.get(Ticket, ticket_id)
        db.refresh(ticket)
        if ticket.priority in _BELOW_HIGH:
            ticket.priority = RAISED_TO
        db.add(TicketEvent(ticket_id=ticket.id, kind=TicketEventKind.ESCALATED, at=now,
                           to_value=Role.SUPERVISOR.value))
        claimed[ticket.organization_id].append(ticket)
    outbox_ids = []
    for organization_id, tickets in claimed.items():
        outbox_ids += _tell_supervisors(db, desk, db.get(Organization, organization_id), tickets)
    return Escalated([t.id for ts in claimed.values() for t in ts], outbox_ids)


def claim(db: Session, ticket_id: int, now: datetime) -> bool:
    """Mark one ticket escalated if it is still open, overdue and unmarked: all checked in
    one conditional UPDATE, so neither a second run nor a resolution in between slips by."""
    return bool(db.execute(update(Ticket)
                           .where(Ticket.id == ticket_id, Ticket.escalated_at.is_(None),
                                  Ticket.status.in_(list(OPEN)), Ticket.due_at <= now)
                           .values(escalated_at=now)).rowcount)


def run_escalation(sessions: sessionmaker[Session], desk: Desk, dispatcher: Dispatcher,
                   now: datetime | None = None) -> Escalated:
    """One pass in its own transaction; the supervisors' SMS are queued once it commits."""
    with sessions.begin() as db:
        escalated = escalate_overdue(db, desk, now)
    if escalated.outbox_ids:
        dispatcher.send_sms(escalated.outbox_ids, SendLane.NOTICE)
    return escalated


def _tell_supervisors(db: Session, desk: Desk, organization: Organization,
                      tickets: list[Ticket]) -> list[int]:
    supervisors = db.scalars(select(User).where(User.organization_id == organization.id,
                                                User.role == Role.SUPERVISOR,
                                                User.active.is_(True),
                                                User.msisdn.is_not(None))).all()
    references = [t.reference for t in sorted(tickets, key=lambda t: t.due_at)]
    if not supervisors:
        # Still marked (the dashboard shows them); nobody can be texted, so say so loudly.
        log.warning("no active supervisor with a phone in organization %s: %d overdue "
                    "tickets escalated without an SMS", organization.id, len(references))
        return []
    body = notices.overdue_text(desk.gettext_for(organization.default_language), references)
    return [outbox.queue_sms(db, organization.id, supervisor.msisdn, body, SendLane.NOTICE)
            for supervisor in supervisors]


def overdue_first(now: datetime):
    """ORDER BY terms for ticket lists: overdue open tickets first, oldest due first."""
    overdue = case((Ticket.status.in_(list(OPEN)) & (Ticket.due_at <= now), 0), else_=1)
    return (overdue, Ticket.due_at, Ticket.id)
