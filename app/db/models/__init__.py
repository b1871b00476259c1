"""All tables, importable from one place so Alembic sees the whole schema."""

from app.db.models.accounts import AuditEntry, Role, User
from app.db.models.budgeting import (
    Ballot,
    BallotChoice,
    BallotType,
    Cycle,
    Participation,
    Phase,
    Proposal,
    ProposalStatus,
    VoterKey,
    VoterPlace,
    VoterProfile,
)
from app.db.models.contacts import Contact
from app.db.models.messaging import (
    InboundSms,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    SendLane,
    UssdSessionEvent,
)
from app.db.models.organizations import Channel, ChannelAddress, Organization, Place

__all__ = [
    "AuditEntry",
    "Ballot",
    "BallotChoice",
    "BallotType",
    "Cycle",
    "Participation",
    "Phase",
    "Proposal",
    "ProposalStatus",
    "VoterKey",
    "VoterPlace",
    "VoterProfile",
    "Channel",
    "ChannelAddress",
    "Contact",
    "InboundSms",
    "InboundStatus",
    "Organization",
    "OutboxMessage",
    "OutboxStatus",
    "Place",
    "Role",
    "SendLane",
    "User",
    "UssdSessionEvent",
]
