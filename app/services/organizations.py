"""Finding an organization from the address a resident used to reach it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Channel, ChannelAddress, Organization


def organization_for(db: Session, channel: Channel, address: str) -> Organization | None:
    """The organization behind a USSD code, short code or voice number, if it is ours."""
    return db.scalar(
        select(Organization)
        .join(ChannelAddress)
        .where(ChannelAddress.channel == channel, ChannelAddress.address == address)
    )


def organization_by_code(db: Session, code: str) -> Organization | None:
    return db.scalar(select(Organization).where(Organization.code == code))


def create_organization(db: Session, *, code: str, name: str, country: str, currency: str,
                        languages: list[str], ussd_codes: list[str] = (),
                        sms_short_codes: list[str] = (), voice_numbers: list[str] = (),
                        sms_sender: str | None = None, voice_display: str | None = None,
                        timezone: str = "Africa/Nairobi") -> Organization:
    """A new organization with the addresses residents reach it by."""
    organization = Organization(
        code=code, name=name, country=country.upper(), currency=currency.upper(),
        languages=list(languages), sms_sender=sms_sender, voice_display=voice_display,
        timezone=timezone,
    )
    for channel, addresses in ((Channel.USSD, ussd_codes), (Channel.SMS, sms_short_codes),
                               (Channel.VOICE, voice_numbers)):
        organization.addresses.extend(ChannelAddress(channel=channel, address=a)
                                      for a in addresses)
    db.add(organization)
    db.flush()
    return organization
