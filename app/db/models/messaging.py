"""What came in from AT and what goes out to it: stored first, handled after."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import text as sql
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
    CALLING = "calling"  # claimed as its AT request leaves: never resent blindly
    SENT = "sent"  # accepted by AT (or stored by the console backend)
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # the number opted out: not sent, never will be
    UNCERTAIN = "uncertain"  # the AT call may have reached AT; not resent automatically


class DeliveryStatus(StrEnum):
    """AT's delivery report statuses (and ours: UNKNOWN when none final came in time)."""

    SENT = "Sent"
    SUBMITTED = "Submitted"
    BUFFERED = "Buffered"
    SUCCESS = "Success"
    FAILED = "Failed"
    REJECTED = "Rejected"
    ABSENT_SUBSCRIBER = "AbsentSubscriber"
    EXPIRED = "Expired"
    UNKNOWN = "unknown"


class SuppressionSource(StrEnum):
    STOP = "stop"  # the resident texted STOP / ACHA
    OPTOUT_CALLBACK = "optout_callback"  # AT's bulk SMS opt-out notification
    BLACKLIST_406 = "blacklist_406"  # a send answered 406 UserInBlacklist
    BLACKLIST_REPORT = "blacklist_report"  # a delivery report said UserInBlackList


class OutboxMessage(Base):
    """An outbound SMS, written in the same transaction as whatever caused it."""

    __tablename__ = "outbox_messages"
    # Partial indexes (migration 0009): sending a row updates it twice (claimed, judged), each
    # update writing an entry into every index that covers the row, so each covers only what
    # its reader looks for.
    __table_args__ = tuple(
        Index(name, *columns, postgresql_where=sql(where), sqlite_where=sql(where))
        for name, columns, where in (
            ("ix_outbox_messages_active", ("status", "lane"),
             "status IN ('queued', 'calling')"),  # the relay
            ("ix_outbox_messages_at_message_id", ("at_message_id",),
             "at_message_id IS NOT NULL"),  # delivery reports
            ("ix_outbox_messages_uncertain_msisdn", ("msisdn",),
             "status = 'uncertain'"),  # a report reconciling an uncertain send
            ("ix_outbox_messages_unreported", ("sent_at",),
             "status = 'sent' AND delivered_at IS NULL"),  # the 72-hour sweep
            ("ix_outbox_messages_campaign_id", ("campaign_id", "id"),
             "campaign_id IS NOT NULL"),  # progress, cancel, the next wave in id order
        ))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    msisdn: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(20))
    lane: Mapped[SendLane] = mapped_column(String(10), default=SendLane.REPLY)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    status: Mapped[OutboxStatus] = mapped_column(String(10), default=OutboxStatus.QUEUED)
    backend: Mapped[str | None] = mapped_column(String(10))  # "at" or "console"
    at_message_id: Mapped[str | None] = mapped_column(String(100))
    status_code: Mapped[int | None]
    cost: Mapped[str | None] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    calling_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # a retry's due time
    delivery_status: Mapped[str | None] = mapped_column(String(20))  # a DeliveryStatus
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when it became final


class DeliveryReport(Base):
    """Every delivery report as AT posted it, known message or not; AT's retries change nothing."""

    __tablename__ = "delivery_reports"
    __table_args__ = (UniqueConstraint("at_id", "status", "retry_count"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    retry_count: Mapped[int] = mapped_column(default=0)
    msisdn: Mapped[str | None] = mapped_column(String(20), index=True)
    network_code: Mapped[str | None] = mapped_column(String(10))
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"),
                                                          index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SmsSuppression(Base):
    """A number an organization must not send notices or campaigns to (contact or not);
    suppressed while `lifted_at` is empty (START lifts it)."""

    __tablename__ = "sms_suppressions"
    __table_args__ = (UniqueConstraint("organization_id", "msisdn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    msisdn: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # a SuppressionSource
    suppressed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
