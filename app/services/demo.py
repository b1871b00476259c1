"""`baraza demo seed`: two real counties with their real wards, demo logins and demo residents.

The counties and wards are public facts (IEBC units); the logins, residents, the budget cycle
and Makueni's projects and PMC members are made up and named as demo data so nobody mistakes
them for real people or projects.
"""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import (
    BallotType,
    Organization,
    Phase,
    Place,
    PmcRole,
    Project,
    ProjectStatus,
    ProposalStatus,
    Role,
    TicketCategory,
    TicketChannel,
)
from app.pb import cycles, proposals
from app.pmc.imports import ProjectRecord, apply_projects
from app.pmc.member_import import MemberRecord, apply_members
from app.services import accounts, contacts, places
from app.services.organizations import create_organization
from app.tickets.desk import Desk
from app.tickets.sla import parse_policy
from app.tickets.tickets import NewTicket, open_ticket

DEMO_COUNTIES = (
    dict(code="makueni", name="Makueni County", county="Makueni", ussd_codes=["*483*1#"],
         sms_short_codes=["40014"], sms_sender="40014", voice_numbers=[], voice_display=None),
    dict(code="nandi", name="Nandi County", county="Nandi", ussd_codes=["*483*2#"],
         sms_short_codes=["1548"], sms_sender="1548", voice_numbers=["+254711082548"],
         voice_display="1548"),
)
DEMO_RESIDENTS = (("+254700000101", "en"), ("+254700000102", "sw"), ("+254700000103", None))
# (English title, Kiswahili title, cost in KES): invented for the demo. The cycle's name and each
# description say so; titles stay short because USSD lists show only their first words.
DEMO_PROPOSALS = (
    ("Borehole at the market", "Kisima sokoni", 1_800_000),
    ("Maternity ward beds", "Vitanda vya wodi ya uzazi", 1_200_000),
    ("Footbridge over the river", "Daraja la miguu mtoni", 900_000),
    ("Street lights", "Taa za barabarani", 600_000),
    ("ECDE classroom", "Darasa la chekechea", 1_500_000),
)
DEMO_DESCRIPTION = "Invented for the demonstration; not a real proposal."
# Makueni's demo projects: invented (names start with "Demo", the contractor says so), in real
# wards (IEBC codes). (code, name, ward, department, value, paid, start, end, status)
DEMO_PROJECTS = (
    ("DEMO1", "Demo borehole, Kalawa market", "0416", "Water and Sanitation", 1_850_000,
     600_000, date(2025, 7, 1), date(2026, 6, 30), ProjectStatus.ONGOING),
    ("DEMO2", "Demo maternity wing, Wote", "0424", "Health Services", 4_200_000, 1_500_000,
     date(2025, 9, 15), date(2026, 9, 30), ProjectStatus.ONGOING),
    ("DEMO3", "Demo footbridge, Kilungu", "0422", "Roads, Transport and Public Works",
     900_000, 0, date(2026, 1, 10), date(2026, 8, 31), ProjectStatus.PLANNED),
)
DEMO_CONTRACTOR = "Demo Contractors Ltd (not a real company)"
# PMC members are residents elected at a public forum: demo residents 4-7, living in the ward
# of their first project. (phone, language, [(project code, role)]); 201 sits on two PMCs.
DEMO_PMC = (
    ("+254700000201", "en", [("DEMO1", PmcRole.CHAIR), ("DEMO2", PmcRole.MEMBER)]),
    ("+254700000202", "sw", [("DEMO1", PmcRole.SECRETARY)]),
    ("+254700000203", "sw", [("DEMO1", PmcRole.MEMBER)]),
    ("+254700000204", "en", [("DEMO2", PmcRole.CHAIR), ("DEMO3", PmcRole.CHAIR)]),
)
DEMO_SUPERVISOR_PHONE = "+254700000301"  # where the demo supervisor's escalation SMS go
# Nandi's demo complaints (from demo residents 1 and 2): one new, one already past its SLA,
# so the agent console and the supervisor dashboard have something to show.
DEMO_TICKETS = (
    (0, TicketCategory.SERVICE_DELIVERY, "Demo complaint: no water at the market tap for a week.",
     0),
    (1, TicketCategory.ENQUIRY, "Demo enquiry: when does the bursary application open?", 5),
)


@dataclass(frozen=True)
class Login:
    organization: str
    role: str
    email: str
    password: str


def seed_demo(db: Session, wards_csv: Path | None) -> list[Login]:
    """Create the demo organizations; returns the logins to print (passwords exist only here)."""
    rows = _read_rows(wards_csv)
    logins: list[Login] = []
    for spec in DEMO_COUNTIES:
        organization = create_organization(
            db, code=spec["code"], name=spec["name"], country="KE", currency="KES",
            languages=["en", "sw"], ussd_codes=spec["ussd_codes"],
            sms_short_codes=spec["sms_short_codes"], voice_numbers=spec["voice_numbers"],
            sms_sender=spec["sms_sender"], voice_display=spec["voice_display"])
        wards = []
        if rows:
            places.import_kenya_wards(db, organization.id, rows, spec["county"])
            wards = places.wards_of(db, organization.id)
        for index, (msisdn, language) in enumerate(DEMO_RESIDENTS):
            contact = contacts.ensure_contact(db, organization.id, msisdn)
            contact.name = f"Demo resident {index + 1}"
            contact.language = language
            contact.ward_id = wards[index].id if wards else None
        if wards:
            _seed_demo_cycle(db, organization, wards[0].parent.parent)
        if spec["code"] == "makueni":
            _seed_demo_projects(db, organization)
        if spec["voice_numbers"]:
            _seed_demo_tickets(db, organization)
        for role in (Role.ADMIN, Role.OFFICER, Role.AGENT, Role.APPROVER, Role.SUPERVISOR):
            email = f"{role.value}@{spec['code']}.demo"
            password = secrets.token_urlsafe(9)
            user = accounts.create_user(db, email, f"Demo {role.value} ({spec['name']})", role,
                                        organization.id, password)
            if role == Role.SUPERVISOR:
                user.msisdn = DEMO_SUPERVISOR_PHONE
            logins.append(Login(spec["code"], role.value, email, password))
    return logins


def _seed_demo_tickets(db: Session, organization: Organization) -> None:
    # Opened without notices: there is nobody behind the demo numbers to text.
    desk = Desk(parse_policy(""), lambda _language: str)
    for resident, category, text, days_ago in DEMO_TICKETS:
        msisdn, language = DEMO_RESIDENTS[resident]
        contact = contacts.find_contact(db, organization.id, msisdn)
        opened = utcnow() - timedelta(days=days_ago)
        open_ticket(db, desk, NewTicket(
            organization_id=organization.id, channel=TicketChannel.SMS, category=category,
            description=text, msisdn=msisdn, language=language,
            place_id=contact.ward_id if contact else None), notify=False, now=opened)


def _seed_demo_cycle(db: Session, organization: Organization, county: Place) -> None:
    """A county-wide cycle open for voting, so the simulator's "Vote on the budget" works."""
    cycle = cycles.create_cycle(
        db, organization_id=organization.id, name="Demo budget (not a real vote)",
        round_name="demo", place=county, budget=5_000_000, ballot_type=BallotType.APPROVAL)
    for title, title_sw, cost in DEMO_PROPOSALS:
        proposals.add_proposal(db, cycle, title=title, titles={"sw": title_sw}, cost=cost,
                               description=DEMO_DESCRIPTION, status=ProposalStatus.ACCEPTED)
    cycles.move(cycle, Phase.VOTING)


def _seed_demo_projects(db: Session, organization: Organization) -> None:
    """Projects with PMCs, so PMC reports and "Projects in my ward" can be tried."""
    records = [ProjectRecord(where=f"demo {code}", code=code, name=name, ward_hints=(ward,),
                             department=department, contractor=DEMO_CONTRACTOR,
                             contract_value=value, amount_paid=paid, start_date=start,
                             end_date=end, status=status)
               for code, name, ward, department, value, paid, start, end, status
               in DEMO_PROJECTS]
    apply_projects(db, organization, records)  # wards attach when they were imported
    projects = {p.code: p for p in db.scalars(
        select(Project).where(Project.organization_id == organization.id))}
    seats = []
    for index, (msisdn, language, roles) in enumerate(DEMO_PMC, start=len(DEMO_RESIDENTS) + 1):
        name, home = f"Demo resident {index}", projects[roles[0][0]].wards
        contact = contacts.ensure_contact(db, organization.id, msisdn)
        contact.name, contact.language = name, language
        contact.ward_id = home[0].id if home else None
        seats += [MemberRecord(f"demo {msisdn}", projects[code], msisdn, name, role)
                  for code, role in roles]
    apply_members(db, organization, seats)


def has_organizations(db: Session) -> bool:
    return db.scalar(select(Organization.id).limit(1)) is not None


def _read_rows(path: Path | None) -> list[dict[str, str]]:
    if path is None or not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))
