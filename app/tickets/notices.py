"""The SMS a caller gets about their ticket, and the status line USSD, SMS and voice read out.

Every text fits one GSM-7 SMS in every catalog (tests check), so a notice costs one part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.core import UnknownLocaleError
from babel.dates import format_date

from app.db.models import Organization, SendLane, Ticket, TicketCategory, TicketStatus
from app.engine.flow import N_
from app.pb.ballot_text import fill
from app.services import outbox
from app.tickets.desk import Desk

Gettext = Callable[[str], str]

RECEIVED = N_("Complaint received. Ref {ref}. We aim to resolve it by {due}. "
              "To follow it, send STATUS {ref}.")
STATUS_NOW = N_("Complaint {ref} is now {status}. Send STATUS {ref} for details.")
RESOLVED_ASK = N_("Complaint {ref} is resolved. Are you satisfied? Reply 1 for yes or 2 for no.")
REOPENED = N_("Complaint {ref} is reopened. We will look at it again by {due}.")
THANKS_CLOSED = N_("Thank you. Complaint {ref} is now closed.")
STATUS_LINE = N_("Ref {ref}: {status}. Updated {updated}. Due {due}.")
OVERDUE = N_("{count} complaint(s) overdue: {refs}. Please act in the console.")

STATUS_NAMES = {
    TicketStatus.NEW: N_("received"),
    TicketStatus.ASSIGNED: N_("assigned to an officer"),
    TicketStatus.IN_PROGRESS: N_("in progress"),
    TicketStatus.RESOLVED: N_("resolved"),
    TicketStatus.CLOSED: N_("closed"),
    TicketStatus.REOPENED: N_("reopened"),
}
CATEGORY_NAMES = {
    TicketCategory.SERVICE_DELIVERY: N_("Service delivery"),
    TicketCategory.PROJECT: N_("A county project"),
    TicketCategory.CORRUPTION: N_("Corruption"),
    TicketCategory.COMPLIMENT: N_("Compliment"),
    TicketCategory.ENQUIRY: N_("Enquiry"),
    TicketCategory.OTHER: N_("Other"),
}
SMS_LIMIT = 160
REFS_SHOWN = 5


def day_text(moment: datetime, organization: Organization, language: str) -> str:
    """`25 Nov 2026` in the organization's time zone and the reader's language."""
    day = moment.astimezone(ZoneInfo(organization.timezone)).date()
    try:
        text = format_date(day, format="d MMM y", locale=language)
    except (ValueError, UnknownLocaleError):  # a language Babel has no data for
        text = ""
    # Month names outside GSM-7 (Kikamba's "Ĩkm") would make the whole SMS UCS-2: two parts.
    return text if text.isascii() and text else format_date(day, format="d MMM y", locale="en")


def language_of(ticket: Ticket, organization: Organization) -> str:
    return ticket.language or organization.default_language


def received_text(_: Gettext, ticket: Ticket, organization: Organization, language: str) -> str:
    return fill(_(RECEIVED), ref=ticket.reference,
                due=day_text(ticket.due_at, organization, language))


def status_text(_: Gettext, ticket: Ticket, organization: Organization, language: str) -> str:
    """What a caller hears or reads when they ask about their ticket."""
    return fill(_(STATUS_LINE), ref=ticket.reference, status=_(STATUS_NAMES[ticket.status]),
                updated=day_text(ticket.updated_at, organization, language),
                due=day_text(ticket.due_at, organization, language))


def change_text(_: Gettext, ticket: Ticket, organization: Organization, language: str) -> str:
    """The notice for the status the ticket has just moved to."""
    if ticket.status == TicketStatus.RESOLVED:
        return fill(_(RESOLVED_ASK), ref=ticket.reference)
    if ticket.status == TicketStatus.CLOSED and ticket.satisfied:
        return closed_text(_, ticket)  # the caller's own "1": thanks, not a status report
    if ticket.status == TicketStatus.REOPENED:
        return fill(_(REOPENED), ref=ticket.reference,
                    due=day_text(ticket.due_at, organization, language))
    return fill(_(STATUS_NOW), ref=ticket.reference, status=_(STATUS_NAMES[ticket.status]))


def closed_text(_: Gettext, ticket: Ticket) -> str:
    return fill(_(THANKS_CLOSED), ref=ticket.reference)


def overdue_text(_: Gettext, references: Sequence[str]) -> str:
    """The supervisors' alert; the organization is theirs, so it is not named (it may be long
    or hold characters outside GSM-7)."""
    return fill(_(OVERDUE), count=len(references), refs=listed(references))


def listed(references: Sequence[str]) -> str:
    """The first REFS_SHOWN references, and how many more: fits one SMS."""
    shown = ", ".join(references[:REFS_SHOWN])
    if len(references) > REFS_SHOWN:
        shown += f" +{len(references) - REFS_SHOWN}"
    return shown


def tell_caller(db, desk: Desk, ticket: Ticket, organization: Organization,
                make_text: Callable[[Gettext, Ticket, Organization, str], str]) -> list[int]:
    """One notice to the ticket's caller in their language (none for a ticket logged without
    a number); returns its outbox id to hand to the dispatcher after commit."""
    if not ticket.msisdn:
        return []
    language = language_of(ticket, organization)
    body = make_text(desk.gettext_for(language), ticket, organization, language)
    return [outbox.queue_sms(db, organization.id, ticket.msisdn, body, SendLane.NOTICE)]
