"""What flows/complaint.yaml calls: making a complaint ticket by USSD.

The flow, screen by screen (answers it keeps are named tk_*):
- "Complaints and feedback" in the main menu leads to 1. Make a complaint, 2. Check a complaint
  (app.tickets.status_flow), and, where the organization has a phone line, 3. Call us.
- The category: the six ticket categories, named as notices name them (the same msgids).
- The place: when the contact's ward is known (`tk_where`), "In <ward>" or "Another ward";
  otherwise, or for another ward, the sub-county and ward are asked with the vote flow's own
  lookups (`pb_areas`, `pb_subcounties`, `pb_wards`, answers pb_sub / pb_ward). An
  organization with no places skips the question.
- "A county project" in a place with projects: which one (`tk_projects`, the ward's projects
  by name, then "Not in this list"); the ticket is then on that project's page too.
- A short description (`complaint_text`: 5 to TEXT_LENGTH characters, one USSD input), then a
  summary with 1. Confirm / 2. Cancel. Cancel stores nothing.
- Confirm: `tk_reference` takes the reference right before the write, so the final screen can
  show it; `tk_open` opens the ticket in the hop's transaction through
  app.tickets.tickets.open_ticket, channel USSD, with the "received" SMS notice (reference and
  due date) queued in the outbox; the gateway hands it to the sender after commit.

Opened once: the ticket's source key is the AT session (`ussd:<sessionId>`), and a session
opens at most one ticket (its final screen is an END). A retried final hop is answered from
the session store; a confirm replayed after its reply was lost finds its session's ticket,
shows the same reference, and opens and sends nothing. Should another ticket take the
reference between the lookup and the write (about one chance in a million), open_ticket draws
a fresh one: the screen's reference is then wrong, and the SMS notice carries the right one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Project, Ticket, TicketCategory, TicketChannel
from app.engine.flow import N_, Choice, Invalid, Lookup, Query, Update, Valid, Validator
from app.engine.render import ELLIPSIS
from app.pb.ballot_text import fill, short_title
from app.pb.flow_support import WARD, EffectHandler, PbFlows, _int, _leaves, _org, _place
from app.pmc.projects import projects_of_ward
from app.services import contacts
from app.tickets import notices
from app.tickets.desk import Desk
from app.tickets.references import MAX_LENGTH
from app.tickets.tickets import NewTicket, free_reference, open_ticket

if TYPE_CHECKING:
    from app.engine import Effect
    from app.services.flow_host import EffectContext

# Session answers the flow keeps.
CATEGORY, PLACE, TEXT, REFERENCE = "tk_category", "tk_place", "tk_text", "tk_ref"
PROJECT = "tk_project"

TEXT_LENGTH = 120  # tk_text's max_length in the flow: a phone takes it in one input
PLACE_NAME_LENGTH = 30
PROJECT_NAME_LENGTH = 30
SUMMARY_LENGTH = 90
REFERENCE_LENGTH = MAX_LENGTH
SOURCE_PREFIX = "ussd:"

BAD_TEXT = N_("Please describe it in 5 to 120 characters.")
SUMMARY = N_("{category} in {place}: {text}")
SUMMARY_NO_PLACE = N_("{category}: {text}")
NOT_LISTED = N_("Not in this list")


def complaint_text(raw: str) -> Valid | Invalid:
    value = " ".join(raw.split())
    if not 5 <= len(value) <= TEXT_LENGTH or not any(ch.isalpha() for ch in value):
        return Invalid(BAD_TEXT)
    return Valid(value)


def source_key(session_id: str) -> str:
    """The ticket's idempotency key: one ticket per AT session."""
    return f"{SOURCE_PREFIX}{session_id}"[:120]


@dataclass(frozen=True)
class ComplaintFlows:
    """The complaint flow's capabilities, on the vote flow's database and the ticket desk."""

    pb: PbFlows
    desk: Desk | None = None  # None: `baraza flows check`, names and sizes only

    def lookups(self) -> dict[str, Lookup]:
        return {
            "tk_where": Lookup(self.where),
            "tk_place_name": Lookup(self.place_name, PLACE_NAME_LENGTH),
            "tk_ward": Lookup(self.ward),
            "tk_projects_here": Lookup(self.projects_here),
            "tk_projects": Lookup(self.projects),
            "tk_summary": Lookup(self.summary, SUMMARY_LENGTH),
            "tk_reference": Lookup(self.reference, REFERENCE_LENGTH),
        }

    def validators(self) -> dict[str, Validator]:
        return {"complaint_text": complaint_text}

    def handlers(self) -> dict[str, EffectHandler]:
        return {"tk_open": self.open}

    # -- lookups ---------------------------------------------------------------------------

    def where(self, q: Query) -> object:
        """'known' (the contact's ward saved), 'ask' (choose a ward) or 'none' (no places)."""
        if not self.pb.online:
            return "none"
        with self.pb.sessions() as db:
            contact = contacts.find_contact(db, _org(q), q.msisdn)
            ward = _place(db, _org(q), str(contact.ward_id or "")) if contact else None
            if ward is not None:
                return Update("known", {PLACE: str(ward.id)})
            return Update("ask" if _leaves(db, _org(q)) else "none", {PLACE: ""})

    def place_name(self, q: Query) -> str:
        if not self.pb.online:
            return ""
        with self.pb.sessions() as db:
            place = _place(db, _org(q), q.answers.get(PLACE, ""))
            return short_title(place.name, PLACE_NAME_LENGTH) if place else ""

    def ward(self, q: Query) -> object:
        """The ward chosen from the list becomes the complaint's place."""
        return Update("ok", {PLACE: q.answers.get(WARD, "")})

    def projects_here(self, q: Query) -> object:
        """'some' when a complaint about a county project is placed where projects are, so
        the caller can say which; else 'none'."""
        if not self.pb.online or q.answers.get(CATEGORY) != TicketCategory.PROJECT:
            return Update("none", {PROJECT: ""})
        with self.pb.sessions() as db:
            place = _place(db, _org(q), q.answers.get(PLACE, ""))
            here = place is not None and projects_of_ward(db, _org(q), place.id)
        return "some" if here else Update("none", {PROJECT: ""})

    def projects(self, q: Query) -> list[Choice]:
        if not self.pb.online:
            return []
        _ = self.pb.gettext_for(q.language)
        with self.pb.sessions() as db:
            place = _place(db, _org(q), q.answers.get(PLACE, ""))
            here = projects_of_ward(db, _org(q), place.id) if place is not None else []
            return [Choice(short_title(p.name, PROJECT_NAME_LENGTH), str(p.id)) for p in here] \
                + [Choice(_(NOT_LISTED), "")]

    def summary(self, q: Query) -> str:
        _ = self.pb.gettext_for(q.language)
        category = notices.CATEGORY_NAMES.get(q.answers.get(CATEGORY, ""))
        project = self._project_name(q)
        frame = {"category": project or (_(category) if category else ""),
                 "place": self.place_name(q)}
        msgid = SUMMARY if frame["place"] else SUMMARY_NO_PLACE
        template = _(msgid)
        room = SUMMARY_LENGTH - len(fill(template, text="", **frame))
        text = q.answers.get(TEXT, "")
        if len(text) > room:  # "..." says there is more than the screen shows
            text = short_title(text, max(room - len(ELLIPSIS), 10)) + ELLIPSIS
        return fill(template, text=text, **frame)[:SUMMARY_LENGTH]

    def _project_name(self, q: Query) -> str:
        if not self.pb.online or not q.answers.get(PROJECT):
            return ""
        with self.pb.sessions() as db:
            project = _project(db, _org(q), q.answers.get(PROJECT, ""))
            return short_title(project.name, PROJECT_NAME_LENGTH) if project else ""

    def reference(self, q: Query) -> str:
        """The reference of this session's ticket if it is open already (a replayed
        confirm), else a free one."""
        if not self.pb.online:
            return ""
        with self.pb.sessions() as db:
            earlier = _session_ticket(db, q.vars.get("session_id", ""))
            if earlier is not None and earlier.organization_id == _org(q):
                return earlier.reference
            return free_reference(db, _org(q))

    # -- the effect, applied by the host in the hop's transaction --------------------------

    def open(self, db: Session, ctx: EffectContext, effect: Effect) -> list[int]:
        """Open the ticket (once per session) and queue the SMS notice with its reference."""
        answers = effect.answers
        if self.desk is None or answers.get(CATEGORY) not in set(TicketCategory):
            return []
        place = _place(db, ctx.organization_id, answers.get(PLACE, ""))
        project = _project(db, ctx.organization_id, answers.get(PROJECT, ""))
        new = NewTicket(
            organization_id=ctx.organization_id, channel=TicketChannel.USSD,
            category=TicketCategory(answers[CATEGORY]), description=answers.get(TEXT, ""),
            msisdn=ctx.msisdn, place_id=place.id if place else None,
            project_id=project.id if project else None, language=effect.language,
            source_key=source_key(ctx.session_id), reference=answers.get(REFERENCE) or None)
        # A ward picked here is where the problem is, not necessarily where the caller
        # lives: the contact's ward is left as it is.
        return open_ticket(db, self.desk, new, notify=True).outbox_ids


def _project(db: Session, organization_id: int, project_id: str) -> Project | None:
    project = db.get(Project, _int(project_id)) if _int(project_id) else None
    return project if project is not None and project.organization_id == organization_id \
        else None


def _session_ticket(db: Session, session_id: str) -> Ticket | None:
    return db.scalar(select(Ticket).where(Ticket.source_key == source_key(session_id)))

