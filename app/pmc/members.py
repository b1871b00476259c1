"""PMC seats: which projects a phone reports on, and who may speak for a project."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.db.models import Contact, PmcMember, Project


def memberships(db: Session, organization_id: int, msisdn: str) -> list[PmcMember]:
    """The active PMC seats of this E.164 number in the organization, by project code."""
    return list(db.scalars(
        select(PmcMember)
        .join(Contact, PmcMember.contact_id == Contact.id)
        .join(Project, PmcMember.project_id == Project.id)
        .where(Contact.organization_id == organization_id, Contact.msisdn == msisdn,
               Project.organization_id == organization_id, PmcMember.active.is_(True))
        .order_by(Project.code)
        .options(joinedload(PmcMember.project), joinedload(PmcMember.contact))))


def projects_of_phone(db: Session, organization_id: int, msisdn: str) -> list[Project]:
    """The projects whose PMC this number sits on (actively), by code."""
    return [seat.project for seat in memberships(db, organization_id, msisdn)]


def seat_on(db: Session, project: Project, msisdn: str) -> PmcMember | None:
    """This number's active seat on the project's PMC, or None (not a member, or stood down)."""
    return db.scalar(
        select(PmcMember)
        .join(Contact, PmcMember.contact_id == Contact.id)
        .where(PmcMember.project_id == project.id, Contact.msisdn == msisdn,
               Contact.organization_id == project.organization_id,
               PmcMember.active.is_(True)))


def members_of(db: Session, project_id: int, *, active_only: bool = True) -> list[PmcMember]:
    """The project's PMC: chair first, then secretary, then members by name."""
    query = select(PmcMember).where(PmcMember.project_id == project_id)
    if active_only:
        query = query.where(PmcMember.active.is_(True))
    seats = db.scalars(query.options(joinedload(PmcMember.contact))).all()
    order = {"chair": 0, "secretary": 1, "member": 2}
    return sorted(seats, key=lambda s: (order.get(s.role, 3), s.name.casefold(), s.id))


def find_or_add_contact(db: Session, organization_id: int, msisdn: str) -> Contact:
    """The contact of a member's number; a new one records no consent (they have not texted us)."""
    contact = db.scalar(select(Contact).where(Contact.organization_id == organization_id,
                                              Contact.msisdn == msisdn))
    if contact is None:
        contact = Contact(organization_id=organization_id, msisdn=msisdn)
        db.add(contact)
        db.flush()
    return contact
