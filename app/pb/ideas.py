"""Budget ideas from residents, by SMS (`IDEA`, app.pb.sms_votes) or USSD (app.pb.idea_flow).

An idea is a proposal with status submitted in the cycle collecting ideas (phase PROPOSALS)
for the resident's place; officers review it in the console. Both channels find the place and
store the idea here, so an idea reads the same whichever way it came.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Cycle, Phase, Place, Proposal, ProposalStatus
from app.pb import ballots
from app.pb.ballot_text import short_title
from app.pb.proposals import MAX_TITLE, add_proposal
from app.pb.voters import Keyring
from app.services import contacts


def collecting_rounds(db: Session, organization_id: int) -> list[str]:
    """Rounds with a cycle collecting ideas, oldest cycle first."""
    return list(dict.fromkeys(db.scalars(select(Cycle.round).where(
        Cycle.organization_id == organization_id, Cycle.phase == Phase.PROPOSALS)
        .order_by(Cycle.id))))


def home_place(db: Session, keyring: Keyring, organization_id: int,
               msisdn: str) -> Place | None:
    """Where an idea from this number is filed: the place registered for a round that is
    collecting ideas, else the contact's ward; None when neither is known."""
    for round_name in collecting_rounds(db, organization_id):
        place = ballots.registered_place(db, keyring, organization_id, round_name, msisdn)
        if place is not None:
            return place
    contact = contacts.find_contact(db, organization_id, msisdn)
    return db.get(Place, contact.ward_id) if contact and contact.ward_id else None


def submit_idea(db: Session, cycle: Cycle, text: str, cost: int, place: Place | None,
                via: str, code: int | None = None) -> Proposal:
    """Store an idea for officers to review; ProposalError when the cycle cannot take it."""
    return add_proposal(db, cycle, title=short_title(text, MAX_TITLE), cost=cost,
                        description=text, status=ProposalStatus.SUBMITTED, submitted_via=via,
                        place_id=place.id if place is not None else None, code=code)


def same_idea(db: Session, cycle: Cycle, text: str, cost: int,
              place: Place | None) -> Proposal | None:
    """A proposal of the cycle with this very text, cost and place: the same idea, so it is
    not stored twice (a USSD confirm replayed after its reply was lost)."""
    place_id = place.id if place is not None else cycle.place_id  # as add_proposal files it
    return db.scalar(select(Proposal).where(
        Proposal.cycle_id == cycle.id, Proposal.description == " ".join(text.split()),
        Proposal.cost == cost, Proposal.place_id == place_id).limit(1))
