"""Projects of an organization, found by the short code people type, or by ward."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.models import Project, project_wards

MAX_CODE = 20
# Letters and digits, hyphens inside: "MK-101", "W0416-7", "12". Typed in SMS, so no spaces.
CODE_PATTERN = re.compile(r"[A-Z0-9](?:[A-Z0-9-]{0,18}[A-Z0-9])?")


class InvalidProjectCode(ValueError):
    """Not something a project code can be."""


def normalise_code(text: str) -> str:
    """The code as stored: trimmed and upper case (SMS keywords are case-insensitive)."""
    code = (text or "").strip().upper()
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidProjectCode(
            f"{text.strip()!r} is not a project code (1-{MAX_CODE} letters or digits, "
            "hyphens allowed inside)")
    return code


def find_project(db: Session, organization_id: int, code: str) -> Project | None:
    """The organization's project with this code (any case), or None."""
    try:
        wanted = normalise_code(code)
    except InvalidProjectCode:
        return None
    return db.scalar(select(Project).where(Project.organization_id == organization_id,
                                           Project.code == wanted))


def projects_of_ward(db: Session, organization_id: int, ward_id: int) -> list[Project]:
    """Projects that sit (at least partly) in this ward, by name."""
    return list(db.scalars(
        select(Project)
        .join(project_wards, project_wards.c.project_id == Project.id)
        .where(Project.organization_id == organization_id, project_wards.c.place_id == ward_id)
        .order_by(Project.name, Project.id)
        .options(selectinload(Project.wards))))


def projects_of(db: Session, organization_id: int) -> list[Project]:
    """Every project of the organization, by code."""
    return list(db.scalars(select(Project).where(Project.organization_id == organization_id)
                           .order_by(Project.code).options(selectinload(Project.wards))))
