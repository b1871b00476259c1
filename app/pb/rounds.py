"""The open round as a voter meets it, on USSD and SMS alike.

- The open round is the round of the organization's oldest cycle in VOTING. Residents vote in
  one round at a time: when several rounds are open at once, later ones wait (the console
  should not open two; a round picker would be a menu before the ward question).
- A round is keyed on national ID numbers when any of its open cycles asks for them; officers
  set the voter key per cycle, and a round mixing both would otherwise split a voter in two.
- A place votes in the most local open cycle of the round among itself and its parents, so a
  sub-county's or the county's cycle serves every ward beneath it.
- A voter's identity is the E.164 number, or the normalised national ID number; it is only
  ever passed to app.pb.ballots, which turns it into keyed tags.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Channel, Contact, Cycle, Organization, Phase, Place, VoterKey
from app.pb import ballots
from app.pb.cycles import ancestors, voting_cycles
from app.pb.voters import Keyring


def open_round(db: Session, organization_id: int) -> str | None:
    cycles = voting_cycles(db, organization_id)
    return cycles[0].round if cycles else None


def round_cycles(db: Session, organization_id: int, round_name: str) -> list[Cycle]:
    return [c for c in voting_cycles(db, organization_id) if c.round == round_name]


def uses_national_id(db: Session, organization_id: int, round_name: str) -> bool:
    return any(c.voter_key == VoterKey.NATIONAL_ID
               for c in round_cycles(db, organization_id, round_name))


def cycle_in_round(db: Session, organization_id: int, round_name: str,
                   place: Place) -> Cycle | None:
    """The open cycle of this round a resident of `place` votes in: the most local one."""
    open_here = {c.place_id: c for c in round_cycles(db, organization_id, round_name)}
    for candidate in ancestors(place):
        if candidate.id in open_here:
            return open_here[candidate.id]
    return None


def proposals_cycle_for(db: Session, organization_id: int, place: Place | None) -> Cycle | None:
    """The cycle collecting ideas for `place` (most local first); with no place known, the
    organization's only cycle collecting ideas, if there is exactly one."""
    collecting = list(db.scalars(select(Cycle).where(
        Cycle.organization_id == organization_id, Cycle.phase == Phase.PROPOSALS)
        .order_by(Cycle.id)))
    if place is None:
        return collecting[0] if len(collecting) == 1 else None
    by_place = {c.place_id: c for c in reversed(collecting)}  # the oldest wins a tie
    for candidate in ancestors(place):
        if candidate.id in by_place:
            return by_place[candidate.id]
    return None


def home_place(db: Session, keyring: Keyring, contact: Contact, round_name: str,
               identity: str) -> tuple[Place | None, bool]:
    """Where this voter votes in the round, and whether that still needs registering: the
    registered place, else the contact's ward (registered by the caller when it is used)."""
    place = ballots.registered_place(db, keyring, contact.organization_id, round_name, identity)
    if place is not None:
        return place, False
    ward = db.get(Place, contact.ward_id) if contact.ward_id else None
    return ward, ward is not None


def ussd_code(organization: Organization) -> str:
    """What residents dial, for replies that send them to the USSD menu."""
    codes = organization.addresses_for(Channel.USSD)
    return codes[0] if codes else ""
