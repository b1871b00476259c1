"""rq job functions: importable, taking ids or plain values only, doing their work through the
services."""

from __future__ import annotations

from datetime import date, datetime

from app.campaigns.runner import campaign_jobs, run_advance, run_materialise, sweep
from app.db.base import utcnow
from app.pmc import reminders
from app.pmc.early_warning import WarningRules
from app.services import delivery_reports, dispatch, inbound_sms, outbox_relay
from app.tickets.escalation import run_escalation
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


def materialise_campaign(campaign_id: int) -> int:
    """Write an approved campaign's recipients and outbox rows (resumes if restarted), then
    queue its first wave."""
    runtime = current_runtime()
    return run_materialise(runtime, campaign_jobs(runtime), campaign_id)


def advance_campaign(campaign_id: int, chain: int | None = None) -> None:
    """Hand a campaign's next wave to the sender, inside its organization's sending hours;
    `chain` is the chain of jobs it belongs to (app.campaigns.runner.run_advance)."""
    runtime = current_runtime()
    run_advance(runtime, campaign_jobs(runtime), campaign_id, chain)


def relay_outbox(now: str | None = None) -> dict[str, int]:
    """Hand on the outbox rows a dead worker or a lost job left behind (see
    app.services.outbox_relay), and stored SMS never answered; `now` (ISO time) overrides
    the clock."""
    runtime = current_runtime()
    moment = datetime.fromisoformat(now) if now else None
    relayed = outbox_relay.relay(runtime.sessions, runtime.dispatcher, moment)
    # Inbound SMS too: one answered 200 whose job was lost would otherwise wait for the next
    # worker start, and AT will not send it again.
    inbound = inbound_sms.relay_received(runtime.sessions, runtime.dispatcher.handle_inbound_sms,
                                         moment)
    return {"uncertain": relayed.uncertain, "handed_on": relayed.handed_on,
            "inbound": inbound}


def sweep_delivery_reports(now: str | None = None) -> int:
    """Mark messages accepted over 72 h ago with no final delivery report `unknown`."""
    runtime = current_runtime()
    return delivery_reports.sweep_unreported(runtime.sessions,
                                             datetime.fromisoformat(now) if now else None)


def sweep_campaigns() -> tuple[int, int]:
    """Queue again the campaign steps a lost queue or a dead worker dropped."""
    runtime = current_runtime()
    return sweep(runtime, campaign_jobs(runtime))


def escalate_tickets(now: str | None = None) -> int:
    """Escalate overdue complaint tickets to supervisors (each once); `now` (ISO time)
    overrides the clock. Returns how many were escalated."""
    runtime = current_runtime()
    escalated = run_escalation(runtime.sessions, runtime.desk, runtime.dispatcher,
                               datetime.fromisoformat(now) if now else None)
    return len(escalated.ticket_ids)
