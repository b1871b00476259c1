"""Console users and the audit log of what they changed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UtcDateTime, utcnow
from app.db.models.organizations import Organization


class Role(StrEnum):
    ADMIN = "admin"  # manages users and settings of an organization (or all, with no org)
    OFFICER = "officer"  # runs budget cycles, projects and notices
    AGENT = "agent"  # call-centre: logs and follows complaints
    APPROVER = "approver"  # second pair of eyes on bulk sends
    SUPERVISOR = "supervisor"  # call-centre lead: overdue complaints are escalated to them


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(10))
    # None only for a platform admin who serves every organization of the deployment.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # E.164; where escalation and assignment notices reach a supervisor or agent by SMS.
    msisdn: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    organization: Mapped[Organization | None] = relationship()


class AuditEntry(Base):
    """Who changed what, when; written in the same transaction as the change."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
