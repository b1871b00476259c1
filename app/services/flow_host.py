"""What Baraza offers its flows: lookups, validators, placeholders, and the effects of actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import Contact, Organization
from app.engine import Capabilities, Effect, Lookup, Query
from app.engine.validators import BUILT_IN
from app.pb import ideas
from app.pb.flow_support import PbFlows
from app.pb.idea_flow import IdeaFlows
from app.pmc.info_flow import ProjectInfoFlows
from app.pmc.report_flow import PmcReportFlows, is_member
from app.services import contacts
from app.tickets.complaint_flow import ComplaintFlows
from app.tickets.desk import Desk
from app.tickets.status_flow import StatusFlows

# Placeholders flows may use, with the longest value each may have on a screen.
SCREEN_VARS = {"org_name": 30, "voice_number": 13, "currency": 3}


def session_vars(db: Session, organization: Organization,
                 contact: Contact | None) -> dict[str, str]:
    """Values fixed for a whole session, read once on its first hop."""
    caller = caller_vars(db, organization.id, contact.msisdn if contact else None,
                         contact.language if contact else None)
    return {**organization_vars(db, organization), **caller}


def organization_vars(db: Session, organization: Organization) -> dict[str, str]:
    """The session values that are the organization's: the same for every caller (USSD caches
    them under the reference-data revision)."""
    return {
        "org_name": organization.name,
        "organization_id": str(organization.id),
        "voice_number": organization.voice_display or "",
        "currency": organization.currency,
        # Read once, so the main menu's numbers cannot shift under the caller mid-session.
        "ideas_open": "yes" if ideas.collecting_rounds(db, organization.id) else "",
    }


def caller_vars(db: Session, organization_id: int, msisdn: str | None,
                language: str | None) -> dict[str, str]:
    """The session values that are the caller's; `msisdn` is None for a caller who is not a
    contact yet (no PMC seat to look up)."""
    return {
        "contact_language": language or "",
        "pmc_member": "yes" if msisdn and is_member(db, organization_id, msisdn) else "",
    }


def has_language(query: Query) -> bool:
    return bool(query.vars.get("contact_language"))


def has_voice_line(query: Query) -> bool:
    return bool(query.vars.get("voice_number"))


@dataclass(frozen=True)
class EffectContext:
    organization_id: int
    msisdn: str
    session_id: str = ""  # the USSD session applying the effects (drafts remember it)


# A handler writes in the caller's transaction and may return outbox ids to send once the
# transaction has committed (a receipt SMS).
EffectHandler = Callable[[Session, EffectContext, Effect], "Sequence[int] | None"]


def save_language(db: Session, ctx: EffectContext, effect: Effect) -> None:
    contacts.set_language(db, ctx.organization_id, ctx.msisdn, effect.language)


EFFECT_HANDLERS: dict[str, EffectHandler] = {
    "save_language": save_language,
}


def _features(pb: PbFlows, desk: Desk | None = None) -> tuple:
    """Each feature's flow support: lookups, validators and effect handlers by name."""
    return (pb, IdeaFlows(pb), PmcReportFlows(pb), ProjectInfoFlows(pb),
            ComplaintFlows(pb, desk), StatusFlows(pb))


def build_capabilities(pb: PbFlows | None = None, desk: Desk | None = None) -> Capabilities:
    """Everything flows may name; without `pb` (flows check) its lookups answer with nothing."""
    features = _features(pb or PbFlows(), desk)
    return Capabilities(
        lookups={"has_language": Lookup(has_language), "has_voice_line": Lookup(has_voice_line),
                 **{name: fn for f in features for name, fn in f.lookups().items()}},
        validators={**BUILT_IN, **{name: fn for f in features
                                   for name, fn in f.validators().items()}},
        actions=frozenset(effect_handlers(pb, desk)),
        vars=SCREEN_VARS,
    )


def effect_handlers(pb: PbFlows | None = None,
                    desk: Desk | None = None) -> dict[str, EffectHandler]:
    return {**EFFECT_HANDLERS, **{name: fn for f in _features(pb or PbFlows(), desk)
                                  for name, fn in f.handlers().items()}}


def apply_effects(db: Session, ctx: EffectContext, effects: Sequence[Effect],
                  handlers: Mapping[str, EffectHandler] = EFFECT_HANDLERS) -> list[int]:
    """Apply a hop's effects; the caller commits them together, then sends the returned
    outbox ids."""
    outbox_ids: list[int] = []
    for effect in effects:
        outbox_ids.extend(handlers[effect.action](db, ctx, effect) or ())
    return outbox_ids
