"""Numbers an organization must not send notices or campaigns to: opted out, by any route.

A suppression is kept per (organization, number), contact or not (a campaign's CSV audience
has numbers that never texted us); a contact's `opted_out` flag follows it, because older
code (PMC, PB notices) reads the flag. START lifts a suppression; the row stays, as a record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.lists import one_of
from app.db.models import (
    Channel,
    ChannelAddress,
    Contact,
    Organization,
    SmsSuppression,
    SuppressionSource,
)


def suppress(db: Session, organization_id: int, msisdn: str, source: SuppressionSource,
             now: datetime | None = None) -> SmsSuppression:
    """Stop notices and campaigns to `msisdn`; suppressing again keeps the first time."""
    now = now or utcnow()
    row = _find(db, organization_id, msisdn)
    if row is None:
        try:
            with db.begin_nested():  # two callbacks for one number may race
                row = SmsSuppression(organization_id=organization_id, msisdn=msisdn,
                                     source=source, suppressed_at=now)
                db.add(row)
        except IntegrityError:
            row = _find(db, organization_id, msisdn)
    if row.lifted_at is not None:
        row.lifted_at, row.source, row.suppressed_at = None, source, now
    _flag_contact(db, organization_id, msisdn, True)
    return row


def lift(db: Session, organization_id: int, msisdn: str) -> bool:
    """START: the number may get notices and campaigns again; False when it was not
    suppressed."""
    row = _find(db, organization_id, msisdn)
    _flag_contact(db, organization_id, msisdn, False)
    if row is None or row.lifted_at is not None:
        return False
    row.lifted_at = utcnow()
    return True


def suppressed_since(db: Session, pairs: Iterable[tuple[int, str]]
                     ) -> dict[tuple[int, str], datetime]:
    """For each (organization id, msisdn) that may not be sent to: since when. A contact's
    `opted_out` flag with no suppression row counts too (since always)."""
    by_org: dict[int, set[str]] = defaultdict(set)
    for org_id, msisdn in pairs:
        by_org[org_id].add(msisdn)
    found: dict[tuple[int, str], datetime] = {}
    # Per organization, `msisdn IN (...)` on the (organization, msisdn) index: a tuple IN of
    # a few thousand pairs (a campaign's wave) is planned as a long OR, slow on big tables.
    for org_id, numbers in by_org.items():
        wanted = sorted(numbers)
        for msisdn, since in suppressed_numbers(db, org_id, wanted).items():
            found[(org_id, msisdn)] = since
        flagged = db.scalars(select(Contact.msisdn)
                             .where(Contact.organization_id == org_id,
                                    one_of(db, Contact.msisdn, wanted, "numbers"),
                                    Contact.opted_out.is_(True)))
        for msisdn in flagged:
            found.setdefault((org_id, msisdn), datetime.min.replace(tzinfo=utcnow().tzinfo))
    return found


def suppressed_numbers(db: Session, organization_id: int,
                       numbers: Sequence[str]) -> dict[str, datetime]:
    """Which of `numbers` are on the organization's suppression list, and since when (a
    contact's `opted_out` flag is not looked at)."""
    return dict(db.execute(select(SmsSuppression.msisdn, SmsSuppression.suppressed_at).where(
        SmsSuppression.organization_id == organization_id,
        one_of(db, SmsSuppression.msisdn, numbers, "numbers"),
        SmsSuppression.lifted_at.is_(None))).all())


def is_suppressed(db: Session, organization_id: int, msisdn: str) -> bool:
    return bool(suppressed_since(db, [(organization_id, msisdn)]))


def organizations_sending_as(db: Session, sender: str) -> list[int]:
    """Organizations whose sender id or SMS short code is `sender`."""
    return list(db.scalars(
        select(Organization.id).outerjoin(ChannelAddress).where(or_(
            Organization.sms_sender == sender,
            (ChannelAddress.channel == Channel.SMS) & (ChannelAddress.address == sender)))
        .distinct().order_by(Organization.id)))


def _find(db: Session, organization_id: int, msisdn: str) -> SmsSuppression | None:
    return db.scalar(select(SmsSuppression).where(SmsSuppression.organization_id == organization_id,
                                                  SmsSuppression.msisdn == msisdn))


def _flag_contact(db: Session, organization_id: int, msisdn: str, opted_out: bool) -> None:
    contact = db.scalar(select(Contact).where(Contact.organization_id == organization_id,
                                              Contact.msisdn == msisdn))
    if contact is not None:
        contact.opted_out = opted_out
