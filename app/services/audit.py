"""The audit log: who changed what, written in the same transaction as the change itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, User
from app.services.paging import Page, fetch_page


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    actor: str | None  # the user's email, None for the command line or the system


def record(db: Session, user: User | None, action: str, entity: str, entity_id: object,
           detail: dict[str, Any] | None = None, *,
           organization_id: int | None = None) -> AuditEntry:
    """Add an entry to the caller's transaction, so it commits or rolls back with the change.

    `organization_id` defaults to the user's; pass it when a platform admin (or the command
    line, with no user) changes one organization's data, so that organization's log shows it.
    """
    if organization_id is None and user is not None:
        organization_id = user.organization_id
    entry = AuditEntry(
        organization_id=organization_id, user_id=user.id if user is not None else None,
        action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), detail=dict(detail or {}),
    )
    db.add(entry)
    return entry


def entries_of(db: Session, organization_id: int, page: int, size: int = 100) -> Page[AuditLine]:
    """An organization's entries, newest first."""
    statement = (
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.organization_id == organization_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    rows = fetch_page(db, statement, page, size, scalars=False)
    return Page(items=[AuditLine(entry, actor) for entry, actor in rows.items],
                number=rows.number, size=rows.size, has_next=rows.has_next)
