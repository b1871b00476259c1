"""What flows/idea.yaml calls: suggesting a budget idea by USSD while a cycle collects them.

The flow, screen by screen (answers it keeps are named idea_*):
- The main menu shows "Suggest a project idea" (under "Vote on the budget") only while a
  cycle of the organization is in PROPOSALS (`ideas_open`), so the menu residents know is
  unchanged the rest of the year. It is read once per session (app.services.flow_host
  session_vars): a phase change cannot renumber a menu the caller is looking at.
- `idea_where`: the caller's place as the SMS `IDEA` keyword finds it (app.pb.ideas); when
  it is not known, the sub-county and ward are asked with the vote flow's own lookups
  (`pb_areas`, `pb_subcounties`, `pb_wards`, answers pb_sub / pb_ward). A place whose cycle
  is not collecting ends politely, naming the place (`pb_place_name`).
- A short description (`idea_text`: 3 to TEXT_LENGTH characters, one USSD input), then a
  rough cost (`idea_cost`: a whole number, 400,000 and 400K read as in SMS); a cost over the
  cycle's whole budget is asked again, with the budget.
- A summary, then 1. Confirm / 2. Cancel. Cancel stores nothing. Confirm gets the idea's
  number (`idea_code`) and stores it in the hop's transaction (`idea_submit`) through
  app.pb.ideas, exactly as an SMS idea, with status submitted. A ward asked for becomes the
  contact's ward when they have none, as after a vote.

Stored once: an identical hop is answered from the session store; a confirm replayed after
its reply was lost finds the same idea (same cycle, text, cost and place) already stored, gets
its number again and stores nothing (so does that idea sent again, by SMS or by anyone: it
is one proposal for officers to review). If another idea takes the number between the lookup and
the write, the unique (cycle, code) constraint fails the hop, nothing is stored, and the
caller is told to try again: the final screen never shows a number that is not theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.db.models import Cycle, Phase, Place
from app.engine.flow import N_, Invalid, Lookup, Query, Update, Valid, Validator
from app.engine.render import ELLIPSIS
from app.pb import ideas, rounds
from app.pb.ballot_text import fill, priced, short_title
from app.pb.flow_support import PLACE, WARD, EffectHandler, PbFlows, _int, _org, _place
from app.pb.proposals import next_code
from app.pb.sms_votes import parse_amount
from app.services import contacts

if TYPE_CHECKING:
    from app.engine import Effect
    from app.services.flow_host import EffectContext

# Session answers the idea flow keeps (the place is pb_place, so `pb_place_name` names it).
CYCLE, TEXT, COST, CODE = "idea_cycle_id", "idea_text", "idea_cost", "idea_code"

TEXT_LENGTH = 100  # idea_text's max_length in the flow: a phone takes it in one input
COST_DIGITS = 12  # idea_cost's max_length
CODE_LENGTH = 6
CYCLE_NAME_LENGTH = 30
BUDGET_LENGTH = 20
SUMMARY_LENGTH = 90
CLOSED = "closed"

BAD_TEXT = N_("Please describe your idea in 3 to 100 characters.")
BAD_COST = N_("Please type the cost in numbers only, e.g. 400000.")
SUMMARY = N_("Idea: {text}\nFor: {place}\nCost: {cost}")


def idea_text(raw: str) -> Valid | Invalid:
    value = " ".join(raw.split())
    if not 3 <= len(value) <= TEXT_LENGTH or not any(ch.isalpha() for ch in value):
        return Invalid(BAD_TEXT)
    return Valid(value)


def idea_cost(raw: str) -> Valid | Invalid:
    cost = parse_amount(raw.replace(" ", ""))
    if cost is None or not 0 < cost < 10**COST_DIGITS:
        return Invalid(BAD_COST)
    return Valid(str(cost))


@dataclass(frozen=True)
class IdeaFlows:
    """The idea flow's capabilities, on the vote flow's database, keys and translations."""

    pb: PbFlows

    def lookups(self) -> dict[str, Lookup]:
        return {
            "ideas_open": Lookup(self.open),
            "idea_where": Lookup(self.where),
            "idea_ward_check": Lookup(self.ward_check),
            "idea_cycle_name": Lookup(self.cycle_name, CYCLE_NAME_LENGTH),
            "idea_fits": Lookup(self.fits),
            "idea_budget": Lookup(self.budget, BUDGET_LENGTH),
            "idea_summary": Lookup(self.summary, SUMMARY_LENGTH),
            "idea_code": Lookup(self.code, CODE_LENGTH),
        }

    def validators(self) -> dict[str, Validator]:
        return {"idea_text": idea_text, "idea_cost": idea_cost}

    def handlers(self) -> dict[str, EffectHandler]:
        return {"idea_submit": self.submit}

    # -- lookups ---------------------------------------------------------------------------

    def open(self, q: Query) -> bool:
        return q.vars.get("ideas_open") == "yes"  # read on the session's first hop

    def where(self, q: Query) -> object:
        """'here' (cycle saved), 'elsewhere' (nothing collects for the caller's place), 'ask'
        (place not known) or 'none' (nothing collects ideas at all)."""
        if not self.pb.online:
            return "none"
        with self.pb.sessions() as db:
            if not ideas.collecting_rounds(db, _org(q)):
                return "none"
            place = ideas.home_place(db, self.pb.keyring, _org(q), q.msisdn)
            if place is None:
                return Update("ask", {WARD: "", PLACE: ""})
            return _filed(db, _org(q), place)

    def ward_check(self, q: Query) -> object:
        """The chosen ward: 'here' or 'elsewhere' as above, 'none' if it is not ours."""
        with self.pb.sessions() as db:
            ward = _place(db, _org(q), q.answers.get(WARD, ""))
            return "none" if ward is None else _filed(db, _org(q), ward)

    def cycle_name(self, q: Query) -> str:
        with self.pb.sessions() as db:
            cycle = _cycle(db, q)
            return cycle.name[:CYCLE_NAME_LENGTH] if cycle else ""

    def fits(self, q: Query) -> bool:
        """False when the cost is over the cycle's whole budget (add_proposal refuses it)."""
        with self.pb.sessions() as db:
            cycle = _cycle(db, q)
            return cycle is None or _int(q.answers.get(COST)) <= cycle.budget

    def budget(self, q: Query) -> str:
        with self.pb.sessions() as db:
            cycle = _cycle(db, q)
            return priced(cycle.budget, q.vars.get("currency", "")) if cycle else ""

    def summary(self, q: Query) -> str:
        _ = self.pb.gettext_for(q.language)
        # The exact amount typed (not 400K): it is what the caller confirms.
        cost = f"{q.vars.get('currency', '')} {_int(q.answers.get(COST)):,}".strip()
        frame = {"place": self.pb.place_name(q), "cost": cost}
        room = SUMMARY_LENGTH - len(fill(_(SUMMARY), text="", **frame))
        text = q.answers.get(TEXT, "")
        if len(text) > room:  # "..." says there is more than the screen shows
            text = short_title(text, max(room - len(ELLIPSIS), 10)) + ELLIPSIS
        return fill(_(SUMMARY), text=text, **frame)[:SUMMARY_LENGTH]

    def code(self, q: Query) -> str:
        """The idea's number: the one it has if this very idea is stored already (a replayed
        confirm), else the next free one; 'closed' if the cycle stopped collecting ideas."""
        with self.pb.sessions() as db:
            cycle = _cycle(db, q)
            if cycle is None or cycle.phase != Phase.PROPOSALS:
                return CLOSED
            same = ideas.same_idea(db, cycle, q.answers.get(TEXT, ""), _int(q.answers.get(COST)),
                                   _place(db, _org(q), q.answers.get(PLACE, "")))
            return str(same.code if same is not None else next_code(db, cycle.id))

    # -- the effect, applied by the host in the hop's transaction --------------------------

    def submit(self, db: Session, ctx: EffectContext, effect: Effect) -> None:
        answers = effect.answers
        cycle = db.get(Cycle, _int(answers.get(CYCLE)))
        if cycle is None or cycle.organization_id != ctx.organization_id:
            return
        place = _place(db, ctx.organization_id, answers.get(PLACE, ""))
        text, cost = answers.get(TEXT, ""), _int(answers.get(COST))
        if ideas.same_idea(db, cycle, text, cost, place) is not None:
            return  # stored by an earlier run of this confirm
        ideas.submit_idea(db, cycle, text, cost, place, via="ussd",
                          code=_int(answers.get(CODE)))
        if place is not None:  # as a vote does: SMS ideas and the next dial find the place
            contact = contacts.ensure_contact(db, ctx.organization_id, ctx.msisdn)
            contact.ward_id = contact.ward_id or place.id


def _filed(db: Session, organization_id: int, place: Place) -> Update:
    cycle = rounds.proposals_cycle_for(db, organization_id, place)
    if cycle is None:
        return Update("elsewhere", {PLACE: str(place.id)})
    return Update("here", {PLACE: str(place.id), CYCLE: str(cycle.id)})


def _cycle(db: Session, q: Query) -> Cycle | None:
    cycle = db.get(Cycle, _int(q.answers.get(CYCLE)))
    return cycle if cycle is not None and cycle.organization_id == _org(q) else None
