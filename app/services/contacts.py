"""Contacts: found or created by (organization, E.164 number)."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Insert, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.db.base import utcnow
from app.db.models import Contact
from app.db.upserts import dialect_of, insert_for


def find_contact(db: Session, organization_id: int, msisdn: str) -> Contact | None:
    return db.scalar(
        select(Contact).where(Contact.organization_id == organization_id, Contact.msisdn == msisdn)
    )


def ensure_contact(db: Session, organization_id: int, msisdn: str) -> Contact:
    """The contact for this number, created on first contact.

    A resident who dials or texts us has started the conversation: that is when we record
    consent to answer them (bulk notices honour `opted_out` separately).
    """
    contact = find_contact(db, organization_id, msisdn)
    if contact is None:
        contact = Contact(organization_id=organization_id, msisdn=msisdn, consent_at=utcnow())
        db.add(contact)
        db.flush()
    return contact


def set_language(db: Session, organization_id: int, msisdn: str, language: str) -> None:
    """Save the contact's language, creating the contact (see `ensure_contact`): one upsert."""
    _upsert(db, organization_id, msisdn, language=language)


def settle_ward(db: Session, organization_id: int, msisdn: str, ward_id: int) -> None:
    """The contact's ward, unless one is saved already; the contact is created if need be."""
    _upsert(db, organization_id, msisdn, ward_id=ward_id)


def _upsert(db: Session, organization_id: int, msisdn: str, *, language: str | None = None,
            ward_id: int | None = None) -> None:
    """One statement for `ensure_contact` and then a change: a language replaces the saved
    one, a ward is kept only when none is saved."""
    change = "language" if language is not None else "ward_id"
    saved = db.execute(_upsert_statement(dialect_of(db), change), {
        "organization_id": organization_id, "msisdn": msisdn, "language": language,
        "ward_id": ward_id, "consent_at": utcnow()}).one()
    loaded = db.identity_map.get(db.identity_key(Contact, saved.id))
    if loaded is not None:  # written past the ORM: a copy this session holds learns it too
        set_committed_value(loaded, "language", saved.language)
        set_committed_value(loaded, "ward_id", saved.ward_id)


_CONTACTS = Contact.__table__


@cache
def _upsert_statement(dialect: str, change: str) -> Insert:
    """Built once per dialect and change (see app.db.upserts)."""
    c, statement = _CONTACTS.c, insert_for(dialect, _CONTACTS)
    new = statement.excluded  # the row that could not be inserted
    changes = ({"language": new.language} if change == "language"
               else {"ward_id": func.coalesce(c.ward_id, new.ward_id)})
    return (statement
            .on_conflict_do_update(index_elements=[c.organization_id, c.msisdn], set_=changes)
            .returning(c.id, c.language, c.ward_id))

