"""Participatory budgeting: cycles, proposals, ballots.

Secrecy by construction: a ballot row holds no phone number, no ID number and no time. It is
found again (to change it, or to check a receipt) through `voter_tag`, an HMAC of the voter
under a key that lives only in the environment (BARAZA_BALLOT_KEY), so someone holding a
database dump cannot compute the tag of a given number. Who took part (needed to send result
notices) is kept in `participations`, with no link to any ballot; ballots carry no timestamps,
so the two cannot be joined by time either; ballot ids are random and the ballot tables are
clustered on them (SQLite WITHOUT ROWID), so insertion order does not join them either.
PostgreSQL keeps rows in insertion order, each with its writing transaction's id: closing voting
rewrites the cycle's ballots and clusters the tables on the random id (app.pb.ballot_order).
Receipts are stored as keyed hashes too: a receipt seen in an SMS or the outbox, next to a phone
number, leads to no ballot without the key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import uuid4

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UtcDateTime, utcnow
from app.db.models.organizations import Place


class Phase(StrEnum):
    PROPOSALS = "proposals"  # residents and officers submit ideas
    REVIEW = "review"  # officers accept or reject them
    VOTING = "voting"
    CLOSED = "closed"
    PUBLISHED = "published"  # results public; voters notified


class BallotType(StrEnum):
    APPROVAL = "approval"  # any proposals whose total cost fits in the budget
    K_APPROVAL = "k_approval"  # at most `max_choices` proposals (Almaty: 3)
    CHOOSE_ONE = "choose_one"
    CUMULATIVE = "cumulative"  # spread `points` points


class VoterKey(StrEnum):
    PHONE = "phone"
    NATIONAL_ID = "national_id"


class ProposalStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # Cycles of one round (e.g. "2026/27") are exclusive: a voter votes in one place per round.
    round: Mapped[str] = mapped_column(String(40))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    budget: Mapped[int] = mapped_column(BigInteger)  # whole units of the org's currency
    ballot_type: Mapped[BallotType] = mapped_column(String(12))
    max_choices: Mapped[int | None]  # k for k-approval
    points: Mapped[int | None]  # N for cumulative
    voter_key: Mapped[VoterKey] = mapped_column(String(12), default=VoterKey.PHONE)
    phase: Mapped[Phase] = mapped_column(String(10), default=Phase.PROPOSALS)
    rule: Mapped[str] = mapped_column(String(10), default="mes")  # how results are computed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    place: Mapped[Place] = relationship()
    proposals: Mapped[list[Proposal]] = relationship(back_populates="cycle",
                                                     order_by="Proposal.code")


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("cycle_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    code: Mapped[int]  # short number shown on USSD lists and typed in SMS votes
    external_id: Mapped[str | None] = mapped_column(String(60))  # e.g. Pabulib project_id
    title: Mapped[str] = mapped_column(String(200))
    titles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # per language
    description: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[int] = mapped_column(BigInteger)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"))
    category: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[ProposalStatus] = mapped_column(String(10), default=ProposalStatus.SUBMITTED)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_via: Mapped[str] = mapped_column(String(10), default="console")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    cycle: Mapped[Cycle] = relationship(back_populates="proposals")

    def title_in(self, language: str) -> str:
        return self.titles.get(language) or self.title


class Ballot(Base):
    """The latest ballot of one voter in one cycle: no phone, no ID, no time."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("cycle_id", "voter_tag"),
                      UniqueConstraint("cycle_id", "receipt_tag"),
                      {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(String(32), primary_key=True,
                                    default=lambda: uuid4().hex)  # random: no insertion order
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    voter_tag: Mapped[str] = mapped_column(String(64))  # HMAC; the key is not in the database
    receipt_tag: Mapped[str] = mapped_column(String(64))  # HMAC of the receipt code
    channel: Mapped[str] = mapped_column(String(10))  # ussd, sms, paper
    revision: Mapped[int] = mapped_column(default=1)

    choices: Mapped[list[BallotChoice]] = relationship(cascade="all, delete-orphan",
                                                       order_by="BallotChoice.proposal_id")


class BallotChoice(Base):
    __tablename__ = "ballot_choices"
    __table_args__ = ({"sqlite_with_rowid": False},)

    ballot_id: Mapped[str] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"),
                                           primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True,
                                             index=True)
    points: Mapped[int] = mapped_column(default=1)


class VoterPlace(Base):
    """Where a voter votes in a round; keyed by tag so it says nothing of the number."""

    __tablename__ = "voter_places"
    __table_args__ = (UniqueConstraint("organization_id", "round", "voter_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    round: Mapped[str] = mapped_column(String(40))
    voter_tag: Mapped[str] = mapped_column(String(64))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))


class Participation(Base):
    """That a contact took part in a cycle (for result notices and turnout), never how."""

    __tablename__ = "participations"
    __table_args__ = (UniqueConstraint("cycle_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    notified: Mapped[bool] = mapped_column(default=False)


class VoterProfile(Base):
    """Optional answers, asked once with consent, for turnout statistics only."""

    __tablename__ = "voter_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    gender: Mapped[str | None] = mapped_column(String(12))  # female, male, other, skipped
    age_band: Mapped[str | None] = mapped_column(String(12))  # 18-24, 25-34, 35-49, 50-64, 65+
    disability: Mapped[str | None] = mapped_column(String(12))  # Washington Group answer
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
