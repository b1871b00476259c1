"""What a campaign would do if approved now: how many people, in which languages, at what cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.audience import Audience, resolve
from app.campaigns.message_text import (
    STOP_HINT,
    Gettext,
    Price,
    TextCheck,
    check_text,
    message_language,
)
from app.db.models import Campaign, Organization, StopHint


@dataclass(frozen=True)
class LanguagePreview:
    language: str
    recipients: int
    check: TextCheck  # the message as written
    first_check: TextCheck  # with the stop hint a number's first campaign message carries
    first_messages: int  # recipients who have never been told how to stop


@dataclass(frozen=True)
class Preview:
    recipients: int
    opted_out: int
    suppressed: int
    duplicates: int
    invalid: tuple[str, ...]
    languages: tuple[LanguagePreview, ...]
    parts: int  # SMS parts for the whole campaign (the estimate bills each)
    cost: Decimal
    currency: str

    @property
    def cost_text(self) -> str:
        return f"{self.currency} {self.cost}"


def preview(db: Session, organization: Organization, audience: Audience,
            messages: dict[str, str], price: Price,
            gettext_for: Callable[[str], Gettext]) -> Preview:
    """Resolve the audience now and price the messages (placeholders at their longest)."""
    resolved = resolve(db, organization, audience)
    hinted = set(db.scalars(select(StopHint.msisdn)
                            .where(StopHint.organization_id == organization.id)))
    counts: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for recipient in resolved.recipients:
        language = message_language(recipient.language, messages,
                                    organization.default_language)
        counts[language] += 1
        if recipient.msisdn not in hinted:
            first[language] += 1
    languages = []
    parts = 0
    for language, text in messages.items():
        check = check_text(language, text)
        hint = " " + gettext_for(language)(STOP_HINT)
        first_check = check_text(language, text, suffix=hint)
        languages.append(LanguagePreview(language, counts[language], check, first_check,
                                         first[language]))
        parts += (counts[language] - first[language]) * check.parts
        parts += first[language] * first_check.parts
    return Preview(len(resolved.recipients), resolved.opted_out, resolved.suppressed,
                   resolved.duplicates, resolved.invalid, tuple(languages), parts,
                   price.cost(parts), price.currency)


def preview_campaign(db: Session, campaign: Campaign, price: Price,
                     gettext_for: Callable[[str], Gettext]) -> Preview:
    organization = db.get(Organization, campaign.organization_id)
    return preview(db, organization, Audience.from_json(campaign.audience), campaign.messages,
                   price, gettext_for)
