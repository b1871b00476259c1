"""Opening tickets and finding them again, by reference or by the caller's number.

A ticket is opened once per source (`source_key`: AT's SMS id, a USSD or voice session), so a
callback AT repeats, or a confirm whose reply was lost, never makes a second ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import (
    Organization,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)
from app.services import contacts
from app.tickets import notices, references
from app.tickets.desk import Desk

MAX_DESCRIPTION = 2000
REFERENCE_TRIES = 20  # then references grow by two digits (a million taken per organization)
INSERT_TRIES = 3


class TicketRefused(ValueError):
    """The ticket cannot be opened as asked (no description, unknown organization...)."""


@dataclass(frozen=True)
class NewTicket:
    organization_id: int
    channel: TicketChannel
    category: TicketCategory
    description: str
    msisdn: str | None = None
    place_id: int | None = None
    project_id: int | None = None
    recording_url: str | None = None
    priority: TicketPriority = TicketPriority.NORMAL
    language: str | None = None
    source_key: str | None = None
    created_by_id: int | None = None
    reference: str | None = None  # one a USSD screen showed already; else a free one is drawn


@dataclass(frozen=True)
class Opened:
    ticket: Ticket
    created: bool  # False: this source opened the ticket before
    outbox_ids: list[int]  # the notices queued; hand them to the dispatcher after commit


def open_ticket(db: Session, desk: Desk, new: NewTicket, *, notify: bool = True,
                now: datetime | None = None) -> Opened:
    """Open a ticket due by its category's SLA; with `notify`, SMS the caller its reference.

    Callers answering by SMS pass notify=False and send `notices.received_text` as the reply.
    """
    if new.source_key is not None:
        earlier = db.scalar(select(Ticket).where(Ticket.source_key == new.source_key))
        if earlier is not None:
            return Opened(earlier, False, [])
    organization = db.get(Organization, new.organization_id)
    if organization is None:
        raise TicketRefused("unknown organization")
    description = " ".join((new.description or "").split())[:MAX_DESCRIPTION]
    if not description and not new.recording_url:
        raise TicketRefused("a ticket needs a description or a recording")
    now = now or utcnow()
    language = new.language
    if new.msisdn:
        # The caller joins the register (campaigns can reach "people with open complaints"),
        # and a language they chose before is the one their notices use.
        contact = contacts.ensure_contact(db, organization.id, new.msisdn)
        language = language or contact.language
    reference = new.reference if new.reference and references.is_valid(new.reference) else None
    for _attempt in range(INSERT_TRIES):
        ticket = Ticket(
            organization_id=organization.id, msisdn=new.msisdn, channel=new.channel,
            category=new.category, place_id=new.place_id, project_id=new.project_id,
            description=description, recording_url=new.recording_url, language=language,
            priority=new.priority, status=TicketStatus.NEW, source_key=new.source_key,
            created_by_id=new.created_by_id, created_at=now, updated_at=now,
            due_at=desk.policy_for(organization).due_at(now, new.category),
            reference=reference or free_reference(db, organization.id))
        try:
            with db.begin_nested():
                db.add(ticket)
                db.flush()
            break
        except IntegrityError:
            # Either a same-source twin committed meanwhile (return it), or another ticket
            # took this reference between the draw and the insert (draw again).
            if new.source_key is not None:
                earlier = db.scalar(select(Ticket).where(Ticket.source_key == new.source_key))
                if earlier is not None:
                    return Opened(earlier, False, [])
            reference = None
    else:
        raise RuntimeError("could not store the ticket")  # three clashes in a row: not plausible
    db.add(TicketEvent(ticket_id=ticket.id, kind=TicketEventKind.CREATED, at=now,
                       user_id=new.created_by_id, to_value=TicketStatus.NEW))
    outbox_ids = (notices.tell_caller(db, desk, ticket, organization, notices.received_text)
                  if notify else [])
    return Opened(ticket, True, outbox_ids)


def free_reference(db: Session, organization_id: int) -> str:
    """A reference no ticket of the organization has yet."""
    body_digits = references.BODY_DIGITS
    for attempt in range(2 * REFERENCE_TRIES):
        if attempt == REFERENCE_TRIES:
            body_digits += 2
        reference = references.new_reference(body_digits=body_digits)
        taken = db.scalar(select(Ticket.id).where(Ticket.organization_id == organization_id,
                                                  Ticket.reference == reference))
        if taken is None:
            return reference
    raise RuntimeError("no free ticket reference")  # 40 random draws all taken: not plausible


class Found(StrEnum):
    YOURS = "yours"
    NOT_YOURS = "not_yours"  # exists, but belongs to another number: show nothing of it
    UNKNOWN = "unknown"  # a valid reference no ticket has
    MISTYPED = "mistyped"  # the check digit does not match: a typing mistake


@dataclass(frozen=True)
class Lookup:
    found: Found
    reference: str  # as cleaned, for the reply
    ticket: Ticket | None = None  # only when YOURS (or for staff lookups)


def look_up(db: Session, organization_id: int, typed: str, msisdn: str | None) -> Lookup:
    """A reference typed by a caller; details only when the ticket is the caller's own.

    `msisdn=None` is a staff lookup (console): any ticket of the organization is theirs.
    """
    reference = references.cleaned(typed)
    if not references.is_valid(reference):
        return Lookup(Found.MISTYPED, reference)
    ticket = db.scalar(select(Ticket).where(Ticket.organization_id == organization_id,
                                            Ticket.reference == reference))
    if ticket is None:
        return Lookup(Found.UNKNOWN, reference)
    if msisdn is not None and ticket.msisdn != msisdn:
        return Lookup(Found.NOT_YOURS, reference)
    return Lookup(Found.YOURS, reference, ticket)


def tickets_of_caller(db: Session, organization_id: int, msisdn: str,
                      limit: int = 50) -> list[Ticket]:
    """A caller's tickets, newest first: what an agent sees when the phone rings."""
    return list(db.scalars(select(Ticket)
                           .where(Ticket.organization_id == organization_id,
                                  Ticket.msisdn == msisdn)
                           .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


def awaiting_satisfaction(db: Session, organization_id: int, msisdn: str) -> Ticket | None:
    """The caller's most recently resolved ticket not yet rated: what a bare "1" or "2" answers."""
    return db.scalar(select(Ticket)
                     .where(Ticket.organization_id == organization_id, Ticket.msisdn == msisdn,
                            Ticket.status == TicketStatus.RESOLVED,
                            Ticket.satisfied.is_(None))
                     .order_by(Ticket.resolved_at.desc(), Ticket.id.desc()).limit(1))
