"""Helpers for SMS tests: post AT's inbound form, run queued jobs, read the outbox."""

from __future__ import annotations

from rq import SimpleWorker
from sqlalchemy import select

from app.db.models import InboundSms, OutboxMessage
from app.runtime import Runtime
from workers.__main__ import build_worker
from workers.context import set_runtime

PHONE = "+254712345678"
MAKUENI_SMS = "40014"
NANDI_SMS = "1548"


def sms_form(text: str, *, at_id: str = "ATXid_in_1", sender: str = PHONE,
             to: str = MAKUENI_SMS, date: str = "2026-11-22 08:00:00") -> dict[str, str]:
    """The fields AT posts for one inbound SMS."""
    return {"date": date, "from": sender, "to": to, "text": text, "id": at_id, "linkId": "",
            "networkCode": "63902", "cost": "KES 0.0000"}


def post_sms(client, text: str, query: str = "", **fields: str):
    return client.post(f"/at/sms{query}", data=sms_form(text, **fields))


def run_jobs(runtime: Runtime) -> None:
    """Work every queued job with a real rq worker in burst mode (nothing to do without Redis:
    the dev stack did the work in process already)."""
    if runtime.redis is None:
        return
    try:
        build_worker(runtime, SimpleWorker).work(burst=True, logging_level="WARNING")
    finally:
        set_runtime(None)


def outbox(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def inbound(runtime: Runtime) -> list[InboundSms]:
    with runtime.sessions() as db:
        return list(db.scalars(select(InboundSms).order_by(InboundSms.id)))
