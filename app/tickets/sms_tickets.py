"""SMS keywords of complaint tickets: COMPLAIN (MALALAMIKO), STATUS (HALI), and the "1"/"2" reply.

- `COMPLAIN <text>`: a ticket, channel SMS, opened once per AT message id (`source_key`).
  A text starting with one of the organization's project codes (`COMPLAIN MK-101 no workers`)
  is about that project (category PROJECT); anything else is OTHER, for an agent to sort. The
  place is the contact's ward when known. The reply is the "received" notice itself (reference
  and due date), so the ticket is opened without a separate notice.
- `STATUS <ref>`: the status line of the caller's own ticket. A reference whose check digit
  fails is a typing mistake and is said so; an unknown reference and another number's ticket
  get the same "not found for this number": nothing tells a stranger a reference exists.
  `STATUS` alone lists the caller's open tickets' references.
- A bare `1` or `2` (words may follow: "2 bado maji hakuna") rates the caller's resolved,
  unrated ticket: 1 closes it, 2 reopens it with a fresh due date; the words after a 2 become
  a note on the ticket's history. With nothing to rate, a digit gets the usual help.
The complaint text is a resident's words: kept on the ticket and the message, never logged.

HELP: the resident help already fills one SMS, so COMPLAIN and STATUS are not in it; the USSD
menu offers complaints, and every notice says how to follow a ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import Organization, Project, Ticket, TicketCategory, TicketChannel
from app.engine.flow import N_
from app.pb.ballot_text import fill
from app.pmc.projects import find_project
from app.services.sms_keywords import (
    Gettext,
    Keyword,
    KeywordRegistry,
    SmsRequest,
    shown_typed,
    word_in,
)
from app.tickets import notices, sla, tickets, workflow
from app.tickets.desk import Desk
from app.tickets.references import MAX_LENGTH
from app.tickets.tickets import Found, NewTicket

COMPLAIN_WORDS = {"en": "COMPLAIN", "sw": "MALALAMIKO"}
STATUS_WORDS = {"en": "STATUS", "sw": "HALI"}
# The same in every language, so the reply keeps the caller's language.
SATISFIED_WORDS = {"en": "1", "sw": "1"}
UNSATISFIED_WORDS = {"en": "2", "sw": "2"}

COMPLAIN_USAGE = N_("Send {word} and your complaint. Example: {word} No water at the market "
                    "since Monday")
STATUS_MISTYPED = N_("{ref} is not a complaint reference: a digit may be mistyped. Please "
                     "check it and send {word} and the reference again.")
# Unknown and someone else's: the same words, so a reference's existence is never revealed.
STATUS_NOT_FOUND = N_("No complaint {ref} was found for this number. Please check the "
                      "reference.")
STATUS_LIST = N_("Your open complaints: {refs}. Send {word} and a reference for details.")
STATUS_NONE = N_("You have no open complaints. To make one, send {complain} and your message.")

# What may surround a reference typed after STATUS ("482-9137", "4829137 please").
_TYPED_REFERENCE = re.compile(r"[\d\s\-.#/]+")
SHOWN_TYPED = MAX_LENGTH + 1


@dataclass(frozen=True)
class TicketKeywords:
    """The ticket keywords, with the desk's SLA policy and catalogs."""

    desk: Desk

    def register(self, registry: KeywordRegistry) -> None:
        registry.register(Keyword(COMPLAIN_WORDS, self.complain))
        registry.register(Keyword(STATUS_WORDS, self.status))
        registry.register(Keyword(SATISFIED_WORDS, self.satisfied))
        registry.register(Keyword(UNSATISFIED_WORDS, self.unsatisfied))

    # -- COMPLAIN -------------------------------------------------------------------------

    def complain(self, request: SmsRequest) -> str:
        """COMPLAIN <text>: a ticket, once per message; the reply carries its reference."""
        _ = request.gettext_for(request.language)
        text = " ".join(request.text.rest.lstrip(" :-,.#").split())
        organization, contact = request.organization, request.contact
        project, description = _project_and_text(request.db, organization.id, text)
        if not description:
            return fill(_(COMPLAIN_USAGE), word=word_in(COMPLAIN_WORDS, request.language))
        if project is not None:
            ticket = report_on_project(request, self.desk, project, description,
                                       TicketChannel.SMS)
        else:
            ticket = _opened(request, self.desk, NewTicket(
                organization_id=organization.id, channel=TicketChannel.SMS,
                category=TicketCategory.OTHER, description=description, msisdn=contact.msisdn,
                place_id=contact.ward_id, language=request.language,
                source_key=request.message_id or None))
        return notices.received_text(_, ticket, organization, request.language)

    # -- STATUS ---------------------------------------------------------------------------

    def status(self, request: SmsRequest) -> str:
        """STATUS <ref>: the caller's own ticket; STATUS alone: their open tickets."""
        language = request.language
        _ = request.gettext_for(language)
        word = word_in(STATUS_WORDS, language)
        rest = request.text.rest.lstrip(" :-,.#")
        if not rest:
            return _open_tickets(request, word, _)
        typed = _TYPED_REFERENCE.match(rest)
        found = tickets.look_up(request.db, request.organization.id,
                                typed.group(0) if typed else rest.split()[0],
                                request.contact.msisdn)
        shown = shown_typed(found.reference, SHOWN_TYPED)
        if found.found == Found.YOURS:
            return notices.status_text(_, found.ticket, request.organization, language)
        if found.found == Found.MISTYPED:
            return fill(_(STATUS_MISTYPED), ref=shown, word=word)
        return fill(_(STATUS_NOT_FOUND), ref=shown)

    # -- the answer to "are you satisfied?" -----------------------------------------------

    def satisfied(self, request: SmsRequest) -> str | None:
        return self._rate(request, True)

    def unsatisfied(self, request: SmsRequest) -> str | None:
        return self._rate(request, False)

    def _rate(self, request: SmsRequest, satisfied: bool) -> str | None:
        organization = request.organization
        ticket = tickets.awaiting_satisfaction(request.db, organization.id,
                                               request.contact.msisdn)
        if ticket is None:  # a digit out of the blue: what anyone unknown gets
            return request.keywords.fallback(request)
        try:
            workflow.rate(request.db, self.desk, ticket, satisfied, notify=False)
        except workflow.ChangeRefused:  # rated by the caller's other message a moment ago
            return request.keywords.fallback(request)
        why = " ".join(request.text.rest.split())  # "2 bado maji hakuna": the officer reads why
        if not satisfied and any(ch.isalnum() for ch in why):
            workflow.comment(request.db, ticket, None, why)
        return _rated_text(self.desk, ticket, organization)


def report_on_project(request: SmsRequest, desk: Desk, project: Project, text: str,
                      channel: TicketChannel = TicketChannel.REPORT) -> Ticket:
    """A resident's words about a project (REPORT, or COMPLAIN <code>): a ticket, once per
    message, placed in the project's ward when it has one, else the resident's."""
    wards = project.wards
    return _opened(request, desk, NewTicket(
        organization_id=request.organization.id, channel=channel,
        category=TicketCategory.PROJECT, description=text, msisdn=request.contact.msisdn,
        place_id=wards[0].id if len(wards) == 1 else request.contact.ward_id,
        project_id=project.id, language=request.language,
        source_key=request.message_id or None))


def _opened(request: SmsRequest, desk: Desk, new: NewTicket) -> Ticket:
    """Open without a notice: the reply to the message is the notice."""
    return tickets.open_ticket(request.db, desk, new, notify=False).ticket


def _project_and_text(db: Session, organization_id: int,
                      text: str) -> tuple[Project | None, str]:
    """(project, the rest) when the text starts with a project code; else (None, text)."""
    first, _, rest = text.partition(" ")
    project = find_project(db, organization_id, first) if first else None
    return (project, rest.strip()) if project is not None else (None, text)


def _open_tickets(request: SmsRequest, word: str, _: Gettext) -> str:
    mine = tickets.tickets_of_caller(request.db, request.organization.id,
                                     request.contact.msisdn)
    refs = [t.reference for t in mine if t.status in sla.OPEN]
    if not refs:
        return fill(_(STATUS_NONE), complain=word_in(COMPLAIN_WORDS, request.language))
    return fill(_(STATUS_LIST), refs=notices.listed(refs), word=word)


def _rated_text(desk: Desk, ticket: Ticket, organization: Organization) -> str:
    """The notice the rating would have queued: thanks and closed, or reopened with a date."""
    language = notices.language_of(ticket, organization)
    return notices.change_text(desk.gettext_for(language), ticket, organization, language)
