"""Complaint tickets, their history, and the voice calls that reach the feedback line."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UtcDateTime, utcnow
from app.db.models.organizations import Place


class TicketCategory(StrEnum):
    SERVICE_DELIVERY = "service"  # water, roads, health: a county service not delivered
    PROJECT = "project"
    CORRUPTION = "corruption"
    COMPLIMENT = "compliment"
    ENQUIRY = "enquiry"
    OTHER = "other"


class TicketChannel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    USSD = "ussd"
    AGENT = "agent"  # typed in the console by a call-centre agent
    REPORT = "report"  # a resident's or PMC member's report on a project


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketEventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"
    ASSIGNED = "assigned"
    COMMENT = "comment"
    PRIORITY = "priority"
    ESCALATED = "escalated"
    SATISFACTION = "satisfaction"


class Ticket(Base):
    """One complaint, compliment or enquiry; `reference` is what the caller reads out and types."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("organization_id", "reference"),
        Index("ix_tickets_open_due", "organization_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    reference: Mapped[str] = mapped_column(String(12))  # digits, the last one a check digit
    msisdn: Mapped[str | None] = mapped_column(String(20), index=True)  # the caller, E.164
    channel: Mapped[TicketChannel] = mapped_column(String(10))
    category: Mapped[TicketCategory] = mapped_column(String(12))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    description: Mapped[str] = mapped_column(Text)  # a resident's words: never logged
    recording_url: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(8))  # the caller's, for notices
    priority: Mapped[TicketPriority] = mapped_column(String(8), default=TicketPriority.NORMAL)
    status: Mapped[TicketStatus] = mapped_column(String(10), default=TicketStatus.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # True: satisfied, False: not (which reopened it), None: not asked or not answered yet.
    satisfied: Mapped[bool | None] = mapped_column()
    # What made it: AT's SMS id, "ussd:<sessionId>", "voice:<sessionId>"; one ticket per source.
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    place: Mapped[Place | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """One change to a ticket, kept forever: the history an agent and an auditor read."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[TicketEventKind] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the caller/system
    from_value: Mapped[str | None] = mapped_column(String(40))
    to_value: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class VoiceCall(Base):
    """A call to the feedback line: where the caller is in the menu, and what the call cost."""

    __tablename__ = "voice_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(120), unique=True)
    caller_msisdn: Mapped[str | None] = mapped_column(String(20))
    destination: Mapped[str | None] = mapped_column(String(40))
    direction: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(40), default="start")  # the menu step we wait on
    misses: Mapped[int] = mapped_column(default=0)  # no input or a wrong key, at this step
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duration_seconds: Mapped[int | None] = mapped_column()
    amount: Mapped[str | None] = mapped_column(String(20))  # as AT sends it, e.g. "0.5000"
    currency_code: Mapped[str | None] = mapped_column(String(3))
    hangup_cause: Mapped[str | None] = mapped_column(String(60))
    dial_destination: Mapped[str | None] = mapped_column(String(40))
    dial_duration_seconds: Mapped[int | None] = mapped_column()
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # the last callback's other fields
