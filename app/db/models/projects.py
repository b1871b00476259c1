"""County projects and the Project Management Committees (PMCs) that watch them.

A project belongs to an organization, has a short code residents and PMC members type in SMS
(`INFO <code>`, `PMC <code> ...`), and sits in one or more wards. PMC members are contacts (so
their language is the one they chose); one phone may sit on several PMCs. Progress reports,
"works verified" sign-offs and resident feedback hang off the project.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UtcDateTime, utcnow
from app.db.models.contacts import Contact
from app.db.models.organizations import Channel, Place


class ProjectStatus(StrEnum):
    """Where a project stands; Open Contracting codes map onto these (`app.pmc.ocds`)."""

    PLANNED = "planned"  # approved, not yet contracted or started
    ONGOING = "ongoing"  # works under way
    STALLED = "stalled"  # contracted or started, and stopped
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PmcRole(StrEnum):
    CHAIR = "chair"  # asks for "works verified" sign-offs
    SECRETARY = "secretary"
    MEMBER = "member"


class ReportStatus(StrEnum):
    """What a PMC member says of the works, as typed in `PMC <code> <progress> <status>`."""

    ONTRACK = "ontrack"
    ATRISK = "atrisk"
    OFFTRACK = "offtrack"
    STALLED = "stalled"
    COMPLETE = "complete"


class MainIssue(StrEnum):
    NONE = "none"
    MATERIALS = "materials"
    LABOUR = "labour"
    FUNDS_DELAYED = "funds_delayed"
    QUALITY = "quality"
    SAFETY = "safety"
    OTHER = "other"


project_wards = Table(
    "project_wards",
    Base.metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("place_id", ForeignKey("places.id"), primary_key=True, index=True),
)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organization_id", "code"),
                      UniqueConstraint("organization_id", "ocid"),
                      UniqueConstraint("organization_id", "oc4ids_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))  # upper case, no spaces: typed in SMS
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(120))
    contractor: Mapped[str | None] = mapped_column(String(200))
    # Whole units of the org's currency, like cycle budgets. None: no contract (nor budget) yet.
    contract_value: Mapped[int | None] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]  # the planned end
    status: Mapped[ProjectStatus] = mapped_column(String(10), default=ProjectStatus.PLANNED)
    ocid: Mapped[str | None] = mapped_column(String(100))  # OCDS contracting process
    oc4ids_id: Mapped[str | None] = mapped_column(String(100))  # OC4IDS project id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    wards: Mapped[list[Place]] = relationship(secondary=project_wards, order_by=Place.name)
    members: Mapped[list[PmcMember]] = relationship(back_populates="project",
                                                    order_by="PmcMember.id")


class PmcMember(Base):
    """A seat on one project's PMC; the phone (and language) is the contact's."""

    __tablename__ = "pmc_members"
    __table_args__ = (UniqueConstraint("project_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[PmcRole] = mapped_column(String(10), default=PmcRole.MEMBER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # The day (organization's time) this seat was last sent a "your project has gone quiet"
    # reminder; the reminder job claims a seat by moving it forward (app.pmc.reminders).
    reminded_on: Mapped[date | None]

    project: Mapped[Project] = relationship(back_populates="members")
    contact: Mapped[Contact] = relationship()

    @property
    def msisdn(self) -> str:
        return self.contact.msisdn


class ProgressReport(Base):
    """One PMC report; `source_message_id` (AT's SMS id, or a USSD session) makes retries safe."""

    __tablename__ = "progress_reports"
    __table_args__ = (UniqueConstraint("organization_id", "reference"),
                      CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
                      Index("ix_progress_reports_project_id_received_at", "project_id",
                            "received_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("pmc_members.id"), index=True)
    channel: Mapped[Channel] = mapped_column(String(10))
    progress: Mapped[int]  # percent of the works done, 0-100
    status: Mapped[ReportStatus] = mapped_column(String(10))
    issue: Mapped[MainIssue] = mapped_column(String(14), default=MainIssue.NONE)
    comment: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(12))  # e.g. PR482913: read out, typed back
    source_message_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    project: Mapped[Project] = relationship()
    member: Mapped[PmcMember] = relationship()


class MilestoneVerification(Base):
    """A "works verified" sign-off: asked by the chair, verified once another member confirms."""

    __tablename__ = "milestone_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(200))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("pmc_members.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("pmc_members.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    project: Mapped[Project] = relationship()
    requested_by: Mapped[PmcMember] = relationship(foreign_keys=[requested_by_id])
    confirmed_by: Mapped[PmcMember | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def verified(self) -> bool:
        return self.confirmed_by_id is not None


class ResidentFeedback(Base):
    """`REPORT <code> <text>` from a resident, kept on the project until tickets exist."""

    __tablename__ = "resident_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    source_message_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
