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


def desk_of(runtime) -> Desk:
    """The desk the runtime built at start (its settings were checked when they were loaded);
    one for every request and job, rather than the SLA setting parsed again each time."""
    return runtime.desk
