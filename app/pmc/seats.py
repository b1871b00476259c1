"""Changing a PMC one seat at a time (the console): seating a member, a new role, standing down.

The rules are the import's: a phone sits on a PMC once (seating it again makes the seat active
again, with the new name and role), and a project has at most one active chair. A member who
stands down keeps their seat row, so their reports still say who sent them; they can no longer
report or confirm a verification.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.db.models import Contact, Organization, PmcMember, PmcRole, Project
from app.pmc.imports import text_field
from app.pmc.member_import import MAX_MEMBER_NAME
from app.pmc.members import find_or_add_contact


class SeatRefused(ValueError):
    """The change would break a rule; the message says which, for the person at the console."""


@dataclass(frozen=True)
class Seated:
    member: PmcMember
    created: bool  # False: the phone had a seat on this PMC, now active again


def seat_member(db: Session, organization: Organization, project: Project, phone: str,
                name: str, role: str) -> Seated:
    """Seat this phone (any local form) on the project's PMC, or make its old seat active."""
    try:
        msisdn = normalise_msisdn(phone, organization.country)
    except InvalidPhoneNumber:
        raise SeatRefused(f"{phone.strip() or 'an empty phone'} is not a valid phone number in "
                          f"{organization.country}; type it as 0712 345 678 or "
                          "+254 712 345 678") from None
    clean_name = _name(name)
    wanted = _role(role)
    contact = db.scalar(select(Contact).where(Contact.organization_id == organization.id,
                                              Contact.msisdn == msisdn))
    seat = None if contact is None else db.scalar(select(PmcMember).where(
        PmcMember.project_id == project.id, PmcMember.contact_id == contact.id))
    if seat is not None and seat.active:
        raise SeatRefused(f"{seat.name} already sits on this PMC with that phone")
    _check_chair(db, project.id, wanted, seat)
    if seat is not None:
        seat.name, seat.role, seat.active = clean_name, wanted, True
        db.flush()
        return Seated(seat, False)
    contact = contact or find_or_add_contact(db, organization.id, msisdn)
    contact.name = contact.name or clean_name
    seat = PmcMember(project_id=project.id, contact_id=contact.id, name=clean_name, role=wanted,
                     active=True)
    db.add(seat)
    db.flush()
    return Seated(seat, True)


def change_role(db: Session, seat: PmcMember, role: str) -> None:
    """Give an active member another role; a second chair is refused."""
    wanted = _role(role)
    if not seat.active:
        raise SeatRefused(f"{seat.name} has stood down; seat them again to give them a role")
    _check_chair(db, seat.project_id, wanted, seat)
    seat.role = wanted
    db.flush()


def stand_down(seat: PmcMember) -> None:
    """The member leaves the PMC; their reports stay."""
    if not seat.active:
        raise SeatRefused(f"{seat.name} has stood down already")
    seat.active = False


def _check_chair(db: Session, project_id: int, wanted: PmcRole, seat: PmcMember | None) -> None:
    if wanted != PmcRole.CHAIR:
        return
    chair = db.scalar(select(PmcMember).where(
        PmcMember.project_id == project_id, PmcMember.role == PmcRole.CHAIR,
        PmcMember.active.is_(True)))
    if chair is not None and chair is not seat:
        raise SeatRefused(f"{chair.name} is the chair; give them another role first")


def _name(text: str) -> str:
    try:
        return text_field(text, MAX_MEMBER_NAME, True)
    except ValueError as exc:
        raise SeatRefused(f"the name is {exc}" if "required" in str(exc)
                          else f"a name has at most {MAX_MEMBER_NAME} characters") from None


def _role(text: str) -> PmcRole:
    try:
        return PmcRole((text or "").strip().lower())
    except ValueError:
        raise SeatRefused("choose a role: chair, secretary or member") from None
