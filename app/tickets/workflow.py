"""Moving a ticket: status, assignee, priority, comments, the caller's satisfaction.

Each change is a TicketEvent (the history) in the caller's transaction, and each status change
queues one notice to the caller; the returned outbox ids go to the dispatcher after commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import (
    Organization,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
    User,
)
from app.tickets import notices
from app.tickets.desk import Desk

S = TicketStatus
# Where each status may go next. RESOLVED -> CLOSED is the caller's "1" or a supervisor's
# decision; CLOSED -> REOPENED lets an agent reopen what a caller disputes later.
NEXT: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
}
MAX_NOTE = 2000


class ChangeRefused(ValueError):
    """A change the workflow does not allow (e.g. closed -> in progress)."""


def change_status(db: Session, desk: Desk, ticket: Ticket, status: TicketStatus,
                  user: User | None, note: str | None = None,
                  now: datetime | None = None, notify: bool = True) -> list[int]:
    """Move the ticket and tell the caller; returns the outbox ids of the notice.

    `notify=False`: the caller is answering by SMS, and the reply is the notice.
    """
    status = TicketStatus(status)
    current = TicketStatus(ticket.status)
    if status == current:
        return []
    if status not in NEXT[current]:
        raise ChangeRefused(f"a {current} ticket cannot become {status}")
    now = now or utcnow()
    organization = db.get(Organization, ticket.organization_id)
    ticket.status = status
    ticket.updated_at = now
    if status == S.RESOLVED:
        ticket.resolved_at = now
        ticket.satisfied = None
    if status == S.REOPENED:
        # A fresh clock: the reopened complaint gets its category's full time again.
        ticket.due_at = desk.policy_for(organization).due_at(now, ticket.category)
        ticket.escalated_at = None
        ticket.resolved_at = None
    _event(db, ticket, TicketEventKind.STATUS, user, current, status, note, now)
    if not notify:
        return []
    return notices.tell_caller(db, desk, ticket, organization, notices.change_text)


def assign(db: Session, desk: Desk, ticket: Ticket, assignee: User | None, user: User | None,
           now: datetime | None = None) -> list[int]:
    """Give the ticket to someone (None: nobody); a new or reopened ticket becomes assigned."""
    if assignee is not None and assignee.organization_id not in (None, ticket.organization_id):
        raise ChangeRefused("the assignee works for another organization")
    now = now or utcnow()
    new_id = assignee.id if assignee is not None else None
    if new_id == ticket.assignee_id:
        return []
    _event(db, ticket, TicketEventKind.ASSIGNED, user, ticket.assignee_id, new_id, None, now)
    ticket.assignee_id = new_id
    ticket.updated_at = now
    if assignee is not None and TicketStatus(ticket.status) in (S.NEW, S.REOPENED):
        return change_status(db, desk, ticket, S.ASSIGNED, user, now=now)
    return []


def set_priority(db: Session, ticket: Ticket, priority: TicketPriority, user: User | None,
                 now: datetime | None = None) -> None:
    priority = TicketPriority(priority)
    if priority == ticket.priority:
        return
    now = now or utcnow()
    _event(db, ticket, TicketEventKind.PRIORITY, user, ticket.priority, priority, None, now)
    ticket.priority = priority
    ticket.updated_at = now


def comment(db: Session, ticket: Ticket, user: User | None, text: str,
            now: datetime | None = None) -> TicketEvent:
    """An internal note on the ticket's history; the caller is not told."""
    cleaned = (text or "").strip()[:MAX_NOTE]
    if not cleaned:
        raise ChangeRefused("a comment needs some text")
    now = now or utcnow()
    ticket.updated_at = now
    return _event(db, ticket, TicketEventKind.COMMENT, user, None, None, cleaned, now)


def rate(db: Session, desk: Desk, ticket: Ticket, satisfied: bool,
         now: datetime | None = None, notify: bool = True) -> list[int]:
    """The caller's answer to "are you satisfied?": 1 closes the ticket, 2 reopens it."""
    if TicketStatus(ticket.status) != S.RESOLVED or ticket.satisfied is not None:
        raise ChangeRefused("only a resolved, unrated ticket can be rated")
    now = now or utcnow()
    ticket.satisfied = satisfied
    _event(db, ticket, TicketEventKind.SATISFACTION, None, None,
           "satisfied" if satisfied else "not satisfied", None, now)
    # "1" closes with thanks (notices.change_text knows a satisfied close); "2" reopens.
    return change_status(db, desk, ticket, S.CLOSED if satisfied else S.REOPENED, None,
                         now=now, notify=notify)


def _event(db: Session, ticket: Ticket, kind: TicketEventKind, user: User | None,
           before: object, after: object, note: str | None, now: datetime) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, kind=kind, user_id=user.id if user else None,
                        from_value=None if before is None else str(before),
                        to_value=None if after is None else str(after), note=note, at=now)
    db.add(event)
    return event
