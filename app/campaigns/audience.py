"""Who a campaign goes to: filters over an organization's contacts, plus a list of numbers.

The definition is stored on the campaign as JSON and resolved when previewing and again when
materialising (so a resident who opted out in between is not written). Contact filters narrow
each other (wards AND language AND voters of a cycle AND PMC members); numbers from a CSV are
added to whatever the filters chose. Opted-out contacts, suppressed numbers and duplicates are
removed and counted, never silently dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.db.models import (
    Contact,
    Cycle,
    Organization,
    Participation,
    Place,
    PmcMember,
    Project,
    SmsSuppression,
    Ticket,
)
from app.services import suppressions
from app.tickets.sla import OPEN

_HEADERS = {"phone", "msisdn", "number", "phone_number", "mobile", "tel", "telephone"}


class AudienceError(ValueError):
    """The audience cannot be built as asked (unknown ward, cycle of another organization...)."""


@dataclass(frozen=True)
class Audience:
    everyone: bool = False  # every contact of the organization (other filters still narrow)
    ward_ids: tuple[int, ...] = ()  # places; a sub-county or county includes its wards
    language: str | None = None
    cycle_id: int | None = None  # residents who voted in this cycle
    pmc: bool = False  # active PMC members of the organization's projects
    open_complaints: bool = False  # callers with a ticket not yet resolved or closed
    numbers: tuple[str, ...] = ()  # E.164, from a CSV
    invalid_numbers: tuple[str, ...] = ()  # CSV entries that are no phone number
    csv_duplicates: int = 0

    @property
    def uses_contacts(self) -> bool:
        return bool(self.everyone or self.ward_ids or self.language or self.cycle_id
                    or self.pmc or self.open_complaints)

    def to_json(self) -> dict[str, Any]:
        return {"everyone": self.everyone, "ward_ids": list(self.ward_ids),
                "language": self.language, "cycle_id": self.cycle_id, "pmc": self.pmc,
                "open_complaints": self.open_complaints, "numbers": list(self.numbers),
                "invalid_numbers": list(self.invalid_numbers),
                "csv_duplicates": self.csv_duplicates}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(everyone=bool(data.get("everyone")),
                   ward_ids=tuple(data.get("ward_ids") or ()),
                   language=data.get("language"), cycle_id=data.get("cycle_id"),
                   pmc=bool(data.get("pmc")), open_complaints=bool(data.get("open_complaints")),
                   numbers=tuple(data.get("numbers") or ()),
                   invalid_numbers=tuple(data.get("invalid_numbers") or ()),
                   csv_duplicates=int(data.get("csv_duplicates") or 0))


@dataclass(frozen=True)
class NumberList:
    numbers: tuple[str, ...]
    invalid: tuple[str, ...]
    duplicates: int


def read_numbers_csv(text: str, region: str) -> NumberList:
    """Numbers from a CSV (the first cell of each row; a header row is skipped), in E.164 read
    in `region`; entries that are no phone number are listed, repeats counted."""
    numbers: dict[str, None] = {}
    invalid: list[str] = []
    duplicates = 0
    reader = csv.reader(io.StringIO(text))
    try:
        for index, row in enumerate(reader):
            cell = next((c.strip() for c in row if c.strip()), "")
            if not cell or (index == 0 and cell.casefold() in _HEADERS):
                continue
            try:
                msisdn = normalise_msisdn(cell, region)
            except InvalidPhoneNumber:
                invalid.append(cell)
                continue
            if msisdn in numbers:
                duplicates += 1
            numbers.setdefault(msisdn, None)
    except csv.Error as error:  # a field over the csv module's size limit, a quote left open
        raise AudienceError(f"the CSV of numbers cannot be read at line {reader.line_num + 1}"
                            f" ({error})") from None
    return NumberList(tuple(numbers), tuple(invalid), duplicates)


@dataclass(frozen=True)
class Recipient:
    msisdn: str
    contact_id: int | None
    language: str
    name: str | None = None
    ward: str | None = None


@dataclass
class Resolved:
    """The recipients, and what was removed on the way."""

    recipients: list[Recipient] = field(default_factory=list)
    opted_out: int = 0
    suppressed: int = 0
    duplicates: int = 0
    invalid: tuple[str, ...] = ()


def ward_ids_by_code(db: Session, organization_id: int, codes: list[str]) -> tuple[int, ...]:
    """Place ids for codes (any kind: a sub-county means all its wards); unknown codes refused."""
    found = {p.code: p.id for p in db.scalars(
        select(Place).where(Place.organization_id == organization_id, Place.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise AudienceError(f"no place with code {', '.join(missing)}")
    return tuple(found[c] for c in codes)


def with_children(db: Session, organization_id: int, place_ids: tuple[int, ...]) -> set[int]:
    """The places and everything under them."""
    children: dict[int | None, list[int]] = {}
    for place_id, parent_id in db.execute(
            select(Place.id, Place.parent_id).where(Place.organization_id == organization_id)):
        children.setdefault(parent_id, []).append(place_id)
    known = {i for ids in children.values() for i in ids}
    unknown = [i for i in place_ids if i not in known]
    if unknown:
        raise AudienceError(f"no such place in this organization: {unknown}")
    found, pending = set(place_ids), list(place_ids)
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def resolve(db: Session, organization: Organization, audience: Audience) -> Resolved:
    """The recipients of `audience` now, sorted by number, each once."""
    default = organization.default_language
    places = _place_names(db, organization.id)
    suppressed = set(db.scalars(select(SmsSuppression.msisdn).where(
        SmsSuppression.organization_id == organization.id, SmsSuppression.lifted_at.is_(None))))
    result = Resolved(invalid=audience.invalid_numbers, duplicates=audience.csv_duplicates)
    chosen: dict[str, Recipient] = {}

    def consider(recipient: Recipient, opted_out: bool) -> None:
        if recipient.msisdn in chosen:
            result.duplicates += 1
        elif opted_out:
            result.opted_out += 1
        elif recipient.msisdn in suppressed:
            result.suppressed += 1
        else:
            chosen[recipient.msisdn] = recipient

    if audience.uses_contacts:
        for contact in db.execute(_contact_query(db, organization, audience)):
            consider(_recipient(contact.msisdn, contact, default, places), contact.opted_out)
    if audience.numbers:
        known = _contacts_by_number(db, organization.id, audience.numbers)
        for msisdn in audience.numbers:
            contact = known.get(msisdn)
            consider(_recipient(msisdn, contact, default, places),
                     contact is not None and contact.opted_out)
    result.recipients = sorted(chosen.values(), key=lambda r: r.msisdn)
    return result


def recipient_pages(sessions: sessionmaker[Session], organization: Organization,
                    audience: Audience, size: int = 1000) -> Iterator[list[Recipient]]:
    """The recipients of `audience` a page at a time, never all of them in memory: for writing
    a campaign of any size. Each page is read in its own short transaction (contacts by number
    after the last one seen), without opted-out contacts and suppressed numbers. A number both
    chosen by the filters and listed in the CSV comes twice: the writer skips numbers already
    written. Counting what was removed is `resolve`'s job (the preview)."""
    default = organization.default_language
    with sessions() as db:
        places = _place_names(db, organization.id)
        contacts = _contact_query(db, organization, audience) if audience.uses_contacts else None
    after = ""
    while contacts is not None:
        with sessions() as db:
            rows = db.execute(contacts.where(Contact.msisdn > after).limit(size)).all()
            page = _unsuppressed(db, organization.id, [
                _recipient(row.msisdn, row, default, places) for row in rows if not row.opted_out])
        if page:
            yield page
        if len(rows) < size:
            break
        after = rows[-1].msisdn
    numbers = sorted(audience.numbers)
    for start in range(0, len(numbers), size):
        chunk = tuple(numbers[start:start + size])
        with sessions() as db:
            known = _contacts_by_number(db, organization.id, chunk)
            page = _unsuppressed(db, organization.id, [
                _recipient(msisdn, known.get(msisdn), default, places) for msisdn in chunk
                if msisdn not in known or not known[msisdn].opted_out])
        if page:
            yield page


def _place_names(db: Session, organization_id: int) -> dict[int, str]:
    return dict(db.execute(select(Place.id, Place.name)
                           .where(Place.organization_id == organization_id)).all())


def _recipient(msisdn: str, contact: Row | None, default: str,
               places: dict[int, str]) -> Recipient:
    """A number as a recipient: a contact's id, language, name and ward when it is one."""
    if contact is None:
        return Recipient(msisdn, None, default)
    return Recipient(msisdn, contact.id, contact.language or default, contact.name,
                     places.get(contact.ward_id))


def _unsuppressed(db: Session, organization_id: int,
                  recipients: list[Recipient]) -> list[Recipient]:
    if not recipients:
        return recipients
    suppressed = suppressions.suppressed_numbers(db, organization_id,
                                                 [r.msisdn for r in recipients])
    return [r for r in recipients if r.msisdn not in suppressed]


def _contact_query(db: Session, organization: Organization, audience: Audience):
    query = (select(Contact.id, Contact.msisdn, Contact.name, Contact.language,
                    Contact.ward_id, Contact.opted_out)
             .where(Contact.organization_id == organization.id).order_by(Contact.msisdn))
    if audience.ward_ids:
        query = query.where(Contact.ward_id.in_(with_children(db, organization.id,
                                                             audience.ward_ids)))
    if audience.language:
        matches = Contact.language == audience.language
        if audience.language == organization.default_language:  # no choice yet: the default
            matches = or_(matches, Contact.language.is_(None))
        query = query.where(matches)
    if audience.cycle_id is not None:
        cycle = db.get(Cycle, audience.cycle_id)
        if cycle is None or cycle.organization_id != organization.id:
            raise AudienceError(f"no cycle {audience.cycle_id} in this organization")
        query = query.where(Contact.id.in_(
            select(Participation.contact_id).where(Participation.cycle_id == cycle.id)))
    if audience.pmc:
        query = query.where(Contact.id.in_(
            select(PmcMember.contact_id).join(Project, Project.id == PmcMember.project_id)
            .where(PmcMember.active.is_(True), Project.organization_id == organization.id)))
    if audience.open_complaints:
        query = query.where(Contact.msisdn.in_(
            select(Ticket.msisdn).where(Ticket.organization_id == organization.id,
                                        Ticket.status.in_(list(OPEN)))))
    return query


def _contacts_by_number(db: Session, organization_id: int, numbers: tuple[str, ...]):
    found = {}
    for start in range(0, len(numbers), 1000):
        chunk = list(numbers[start:start + 1000])
        for row in db.execute(select(Contact.id, Contact.msisdn, Contact.name, Contact.language,
                                     Contact.ward_id, Contact.opted_out)
                              .where(Contact.organization_id == organization_id,
                                     Contact.msisdn.in_(chunk))):
            found[row.msisdn] = row
    return found
