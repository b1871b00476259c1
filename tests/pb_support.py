"""Test data for participatory budgeting, made through the product's own services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.db.models import Ballot, Cycle, Phase, ProposalStatus
from app.pb import cycles, proposals
from app.runtime import Runtime
from app.services import places
from app.services.organizations import organization_by_code
from tests.factories import add_counties

WARDS = [  # a small piece of Makueni as the IEBC file has it
    {"county_code": "17", "county_name": "Makueni", "constituency_code": "86",
     "constituency_name": "Mbooni", "ward_code": "0431", "ward_name": "Tulimani"},
    {"county_code": "17", "county_name": "Makueni", "constituency_code": "86",
     "constituency_name": "Mbooni", "ward_code": "0432", "ward_name": "Mbooni"},
    {"county_code": "17", "county_name": "Makueni", "constituency_code": "87",
     "constituency_name": "Kilome", "ward_code": "0437", "ward_name": "Kasikeu"},
]
PROPOSALS = [("Borehole at Kalawa market", 400_000), ("Maternity ward beds", 300_000),
             ("Footbridge on Kaiti river", 250_000), ("Street lights", 150_000)]


@dataclass(frozen=True)
class Fixture:
    organization_id: int
    cycle_id: int
    ward_ids: dict[str, int]  # IEBC code -> place id


def add_cycle(runtime: Runtime, *, ballot_type: str = "approval", budget: int = 700_000,
              ward: str = "0431", max_choices: int | None = None, points: int | None = None,
              voter_key: str = "phone", open_voting: bool = True,
              items: list[tuple[str, int]] = PROPOSALS, with_counties: bool = True) -> Fixture:
    if with_counties:
        add_counties(runtime)
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        places.import_kenya_wards(db, org.id, WARDS, "Makueni")
        ward_ids = {w.code: w.id for w in places.wards_of(db, org.id)}
        place = places.place_by_code(db, org.id, ward)
        cycle = cycles.create_cycle(db, organization_id=org.id, name=f"{place.name} 2026/27",
                                    round_name="2026/27", place=place, budget=budget,
                                    ballot_type=ballot_type, max_choices=max_choices,
                                    points=points, voter_key=voter_key)
        for title, cost in items:
            proposals.add_proposal(db, cycle, title=title, cost=cost,
                                   status=ProposalStatus.ACCEPTED)
        if open_voting:
            cycles.move(cycle, Phase.VOTING)
        return Fixture(org.id, cycle.id, ward_ids)


def stored_ballots(runtime: Runtime, cycle_id: int) -> list[tuple[str, int, dict[int, int], str]]:
    """(receipt tag, revision, {code: points}, channel) of every ballot of the cycle."""
    with runtime.sessions() as db:
        cycle = db.get(Cycle, cycle_id)
        codes = {p.id: p.code for p in cycle.proposals}
        return [(b.receipt_tag, b.revision, {codes[c.proposal_id]: c.points for c in b.choices},
                 b.channel)
                for b in db.scalars(select(Ballot).where(Ballot.cycle_id == cycle_id))]


def tag(runtime: Runtime, cycle_id: int, receipt: str) -> str:
    """What the database keeps of a receipt: its keyed hash, never the code."""
    return runtime.keyring.receipt_tag(cycle_id, receipt)


def move(runtime: Runtime, cycle_id: int, phase: Phase) -> None:
    """Move a cycle to a later phase, as an officer does."""
    with runtime.sessions.begin() as db:
        cycles.move(db.get(Cycle, cycle_id), phase)
