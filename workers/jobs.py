"""rq job functions: importable, taking ids or plain values only, doing their work through the
services."""

from __future__ import annotations

from datetime import date

from app.db.base import utcnow
from app.pmc import reminders
from app.pmc.early_warning import WarningRules
from app.services import dispatch
from workers.context import current_runtime


def handle_inbound_sms(inbound_id: int) -> None:
    """Answer one stored inbound SMS and queue the reply's send."""
    runtime = current_runtime()
    dispatch.handle_inbound_sms(runtime.inbound_sms, runtime.dispatcher, inbound_id)


def send_sms(outbox_ids: list[int]) -> None:
    """Send the still-queued messages among `outbox_ids`; schedule retries for transient ones."""
    runtime = current_runtime()
    dispatch.send_sms(runtime.sms_sender, runtime.dispatcher, outbox_ids)


def pmc_reminders(today: str | None = None) -> dict[str, int]:
    """Remind the PMC members of every organization's quiet projects (at most once a week
    each, however often this runs); `today` (ISO date) overrides each organization's date."""
    runtime = current_runtime()
    return reminders.remind_organizations(
        runtime.sessions, runtime.catalogs.gettext_for, runtime.dispatcher,
        WarningRules.from_settings(runtime.settings), utcnow(),
        today=date.fromisoformat(today) if today else None)
