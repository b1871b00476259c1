"""What the ticket services need from the runtime: the SLA policy and the catalogs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.db.models import Organization
from app.tickets.sla import SlaPolicy

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Desk:
    policy: SlaPolicy  # the deployment's; an organization may override some categories
    gettext_for: Callable[[str], Gettext]

    def policy_for(self, organization: Organization) -> SlaPolicy:
        return self.policy.overridden(organization.ticket_sla_hours)

