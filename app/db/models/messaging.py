"""What came in from AT and what goes out to it: stored first, handled after."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime, utcnow


class InboundStatus(StrEnum):
    RECEIVED = "received"
    HANDLED = "handled"
    FAILED = "failed"


class InboundSms(Base):
    """One SMS as AT posted it; AT's `id` is unique so its retries change nothing."""

    __tablename__ = "inbound_sms"

    id: Mapped[int] = mapped_column(primary_key=True)
    at_id: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    network_code: Mapped[str | None] = mapped_column(String(10))
    link_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[InboundStatus] = mapped_column(String(12), default=InboundStatus.RECEIVED)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class UssdSessionEvent(Base):
    """AT's end-of-session notification; one per session, whatever AT retries."""

    __tablename__ = "ussd_session_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    msisdn: Mapped[str | None] = mapped_column(String(20))
    service_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    hops: Mapped[int | None]
    duration_ms: Mapped[int | None]
    cost: Mapped[str | None] = mapped_column(String(30))
    error_message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON)  # everything AT sent, for audits
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SendLane(StrEnum):
    """Replies and notices go ahead of campaigns."""

    REPLY = "reply"
    NOTICE = "notice"
    CAMPAIGN = "campaign"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # accepted by AT (or stored by the console backend)
    FAILED = "failed"


class OutboxMessage(Base):
    """An outbound SMS, written in the same transaction as whatever caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_lane", "status", "lane"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(20))
    lane: Mapped[SendLane] = mapped_column(String(10), default=SendLane.REPLY)
    status: Mapped[OutboxStatus] = mapped_column(String(10), default=OutboxStatus.QUEUED)
    backend: Mapped[str | None] = mapped_column(String(10))  # "at" or "console"
    at_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status_code: Mapped[int | None]
    cost: Mapped[str | None] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
