"""Test data for complaint tickets, made through the product's own services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.db.models import Contact, OutboxMessage, Ticket, TicketCategory, TicketChannel
from app.runtime import Runtime
from app.services import contacts, places
from app.services.organizations import organization_by_code
from app.tickets.tickets import NewTicket, open_ticket

CALLER = "+254722000111"
NEIGHBOUR = "+254733000222"


def org_id(runtime: Runtime, code: str = "nandi") -> int:
    with runtime.sessions() as db:
        return organization_by_code(db, code).id


def open_one(runtime: Runtime, *, org_code: str = "nandi", msisdn: str | None = CALLER,
             category: TicketCategory = TicketCategory.SERVICE_DELIVERY,
             channel: TicketChannel = TicketChannel.SMS, text: str = "No water at Kapsabet market",
             source_key: str | None = None, now: datetime | None = None,
             notify: bool = True) -> str:
    """Open a ticket through the service; returns its reference."""
    with runtime.sessions.begin() as db:
        new = NewTicket(organization_id=organization_by_code(db, org_code).id, channel=channel,
                        category=category, description=text, msisdn=msisdn,
                        source_key=source_key)
        return open_ticket(db, runtime.desk, new, notify=notify, now=now).ticket.reference


def ticket(db, reference: str) -> Ticket:
    return db.scalar(select(Ticket).where(Ticket.reference == reference))


def outbox_to(db, msisdn: str) -> list[str]:
    """Bodies queued to a number, oldest first."""
    return list(db.scalars(select(OutboxMessage.body).where(OutboxMessage.msisdn == msisdn)
                           .order_by(OutboxMessage.id)))


def set_ward(runtime: Runtime, org_code: str, msisdn: str, ward_code: str | None) -> None:
    """The contact's ward (None: not known), as a vote or the console would set it."""
    with runtime.sessions.begin() as db:
        organization = organization_by_code(db, org_code)
        contact: Contact = contacts.ensure_contact(db, organization.id, msisdn)
        contact.ward_id = (places.place_by_code(db, organization.id, ward_code).id
                           if ward_code else None)
