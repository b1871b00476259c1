"""What Baraza offers its flows: lookups, validators, placeholders, and the effects of actions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import Contact, Organization
from app.engine import Capabilities, Effect, Lookup, Query
from app.engine.validators import BUILT_IN
from app.services import contacts

# Placeholders flows may use, with the longest value each may have on a screen.
SCREEN_VARS = {"org_name": 30, "voice_number": 13}


def session_vars(organization: Organization, contact: Contact | None) -> dict[str, str]:
    """Values fixed for a whole session, read once on its first hop."""
    return {
        "org_name": organization.name,
        "voice_number": organization.voice_display or "",
        "contact_language": (contact.language or "") if contact else "",
    }


def has_language(query: Query) -> bool:
    return bool(query.vars.get("contact_language"))


def is_pmc_member(query: Query) -> bool:
    """PMC membership comes with project monitoring (issue 4); until then nobody is listed."""
    return False


@dataclass(frozen=True)
class EffectContext:
    organization_id: int
    msisdn: str


def save_language(db: Session, ctx: EffectContext, effect: Effect) -> None:
    contacts.set_language(db, ctx.organization_id, ctx.msisdn, effect.language)


EFFECT_HANDLERS: dict[str, Callable[[Session, EffectContext, Effect], None]] = {
    "save_language": save_language,
}


def build_capabilities() -> Capabilities:
    return Capabilities(
        lookups={
            "has_language": Lookup(has_language),
            "is_pmc_member": Lookup(is_pmc_member),
        },
        validators=BUILT_IN,
        actions=frozenset(EFFECT_HANDLERS),
        vars=SCREEN_VARS,
    )


def apply_effects(db: Session, ctx: EffectContext, effects: Sequence[Effect]) -> None:
    """Apply a hop's effects; the caller commits them together."""
    for effect in effects:
        EFFECT_HANDLERS[effect.action](db, ctx, effect)
