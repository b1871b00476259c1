"""rq job functions: importable, taking ids only, doing their work through the services."""

from __future__ import annotations

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
