"""Bulk SMS campaigns: what to send to whom, who approved it, and each recipient's row."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime, utcnow


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # recipients being written in the background
    SCHEDULED = "scheduled"  # approved, waiting for `scheduled_for`
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[CampaignStatus] = mapped_column(String(10), default=CampaignStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime())
    audience: Mapped[dict] = mapped_column(JSON, default=dict)  # app.campaigns.audience
    messages: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # language -> text
    recipient_count: Mapped[int] = mapped_column(default=0)  # written by materialise
    materialised: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When the background work expects its next step; long past means its job was lost
    # (Redis restarted...) and app.campaigns.runner.sweep queues it again.
    next_step_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The number of the campaign's current chain of advance jobs (app.campaigns.runner): a
    # job of an older chain ends instead of handing a wave over.
    chain: Mapped[int] = mapped_column(default=0, server_default="0")
    # The campaign's outbox rows up to this id were handed to the sender; the next wave starts
    # after it. 0 goes through them all again (a resume, a lost job): only rows still queued
    # are handed over, and a row is claimed once however often it is handed over.
    handed_over_to: Mapped[int] = mapped_column(default=0, server_default="0")


class CampaignRecipient(Base):
    """One number of a campaign, written once: unique per campaign, so a restarted materialise
    adds none twice. How its message fares is its outbox row's to say."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "msisdn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(20))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    language: Mapped[str] = mapped_column(String(8))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"),
                                                          index=True)


class StopHint(Base):
    """A number that was told how to stop campaign messages (once per organization)."""

    __tablename__ = "sms_stop_hints"
    __table_args__ = (UniqueConstraint("organization_id", "msisdn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    msisdn: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
