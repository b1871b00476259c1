"""Organizations (one county or city each), their phone channels and their places."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base


class Channel(StrEnum):
    USSD = "ussd"
    SMS = "sms"
    VOICE = "voice"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))  # default phone region, ISO 3166 alpha-2
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217
    timezone: Mapped[str] = mapped_column(String(64), default="Africa/Nairobi")
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["en", "sw"])
    sms_sender: Mapped[str | None] = mapped_column(String(20))  # short code or sender id
    voice_display: Mapped[str | None] = mapped_column(String(20))  # what residents dial, e.g. 1548
    # Hours to resolve a ticket, per category ({"corruption": 48}); the rest from TICKET_SLA_HOURS.
    ticket_sla_hours: Mapped[dict | None] = mapped_column(JSON)
    # Local hours campaign messages may go out in ("08:00-18:00"); None: CAMPAIGN_HOURS.
    campaign_hours: Mapped[str | None] = mapped_column(String(11))

    addresses: Mapped[list[ChannelAddress]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else "en"

    def addresses_for(self, channel: Channel) -> list[str]:
        return [a.address for a in self.addresses if a.channel == channel]


class ChannelAddress(Base):
    """A USSD service code, SMS short code or voice number that leads to one organization."""

    __tablename__ = "channel_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    channel: Mapped[Channel] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(40))

    organization: Mapped[Organization] = relationship(back_populates="addresses")


class Place(Base):
    """A county, sub-county, ward or district; `code` is the source's code (IEBC for Kenya)."""

    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # county, subcounty, ward, district...
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)

    parent: Mapped[Place | None] = relationship(remote_side=[id])
