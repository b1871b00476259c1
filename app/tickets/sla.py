"""How long each kind of ticket may stay open, and whether it is overdue. Pure: no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db.models.tickets import TicketCategory, TicketStatus

# Used for any category a deployment's setting leaves out.
DEFAULT_HOURS = {
    TicketCategory.CORRUPTION: 48,
    TicketCategory.SERVICE_DELIVERY: 72,
    TicketCategory.PROJECT: 168,
    TicketCategory.ENQUIRY: 48,
    TicketCategory.COMPLIMENT: 168,
    TicketCategory.OTHER: 120,
}
OPEN = frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS,
                  TicketStatus.REOPENED})


class SlaError(ValueError):
    """A TICKET_SLA_HOURS value or an organization's override that cannot be read."""


@dataclass(frozen=True)
class SlaPolicy:
    hours: Mapping[TicketCategory, int]

    def due_at(self, opened_at: datetime, category: TicketCategory) -> datetime:
        return opened_at + timedelta(hours=self.hours[TicketCategory(category)])

    def overridden(self, overrides: Mapping[str, int] | None) -> SlaPolicy:
        """This policy with an organization's own hours for some categories."""
        if not overrides:
            return self
        return SlaPolicy({**self.hours, **_checked(overrides)})


def parse_policy(text: str | None) -> SlaPolicy:
    """`"corruption=48,service=72"` (hours per category); categories left out keep the default."""
    overrides: dict[str, int] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, hours = item.partition("=")
        if not sep:
            raise SlaError(f"expected category=hours, got {item.strip()!r}")
        try:
            overrides[name.strip().lower()] = int(hours)
        except ValueError:
            raise SlaError(f"hours must be a whole number in {item.strip()!r}") from None
    return SlaPolicy({**DEFAULT_HOURS, **_checked(overrides)})


def _checked(overrides: Mapping[str, int]) -> dict[TicketCategory, int]:
    known = {category.value for category in TicketCategory}
    checked = {}
    for name, hours in overrides.items():
        if name not in known:
            raise SlaError(f"unknown ticket category {name!r}; known: {', '.join(sorted(known))}")
        if not isinstance(hours, int) or isinstance(hours, bool) or hours <= 0:
            raise SlaError(f"hours for {name} must be a positive whole number")
        checked[TicketCategory(name)] = hours
    return checked


def is_overdue(status: str, due_at: datetime, now: datetime) -> bool:
    return TicketStatus(status) in OPEN and due_at <= now
