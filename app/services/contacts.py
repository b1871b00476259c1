"""Contacts: found or created by (organization, E.164 number)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Contact


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


def set_language(db: Session, organization_id: int, msisdn: str, language: str) -> Contact:
    contact = ensure_contact(db, organization_id, msisdn)
    contact.language = language
    return contact
