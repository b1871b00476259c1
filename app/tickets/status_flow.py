"""What flows/complaint_status.yaml calls: checking a complaint by USSD.

The caller types a reference (`ticket_reference` keeps its digits; '#', '-' and spaces are
dropped). `tk_find` answers as the SMS `STATUS` does (app.tickets.sms_tickets): 'yours' leads
to the status line (`tk_status_line`: status, last update, due date); a reference whose check
digit fails is 'mistyped' and asked for once more, then the session ends saying so; an
unknown reference and another number's ticket are both 'not_found', so a screen never tells
a stranger that a reference exists. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db.models import Organization
from app.digits import is_whole
from app.engine.flow import N_, Invalid, Lookup, Query, Valid, Validator
from app.pb.flow_support import EffectHandler, PbFlows, _org
from app.tickets import notices, references
from app.tickets.tickets import Found, look_up

TYPED = "tk_typed"
STATUS_LENGTH = 120  # the status line in the longest catalog, with long month names

BAD_REFERENCE = N_("Please type the reference, e.g. 4829137.")
OUTCOMES = {Found.YOURS: "yours", Found.MISTYPED: "mistyped", Found.UNKNOWN: "not_found",
            Found.NOT_YOURS: "not_found"}


def ticket_reference(raw: str) -> Valid | Invalid:
    """Digits (a keypad's '*' or a letter is no reference: asked again, not 'mistyped')."""
    value = references.cleaned(raw)
    if is_whole(value, references.MAX_LENGTH) and len(value) >= 2:
        return Valid(value)
    return Invalid(BAD_REFERENCE)


@dataclass(frozen=True)
class StatusFlows:
    """The "Check a complaint" capabilities, on the vote flow's database and translations."""

    pb: PbFlows

    def lookups(self) -> dict[str, Lookup]:
        return {
            "tk_find": Lookup(self.find),
            "tk_status_line": Lookup(self.status_line, STATUS_LENGTH),
        }

    def validators(self) -> dict[str, Validator]:
        return {"ticket_reference": ticket_reference}

    def handlers(self) -> dict[str, EffectHandler]:
        return {}  # it only reads

    def find(self, q: Query) -> str:
        """'yours', 'mistyped' or 'not_found' (unknown, or another number's)."""
        if not self.pb.online:
            return "not_found"
        with self.pb.sessions() as db:
            found = look_up(db, _org(q), q.answers.get(TYPED, ""), q.msisdn)
        return OUTCOMES[found.found]

    def status_line(self, q: Query) -> str:
        if not self.pb.online:
            return ""
        with self.pb.sessions() as db:
            found = look_up(db, _org(q), q.answers.get(TYPED, ""), q.msisdn)
            if found.found != Found.YOURS:
                return ""
            organization = db.get(Organization, _org(q))
            _ = self.pb.gettext_for(q.language)
            return notices.status_text(_, found.ticket, organization,
                                       q.language)[:STATUS_LENGTH]
