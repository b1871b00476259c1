"""`baraza demo seed`: two real counties with their real wards, demo logins and demo residents.

The counties and wards are public facts (IEBC units); the logins and residents are made up and
named as demo data so nobody mistakes them for real people.
"""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Organization, Role
from app.services import accounts, contacts, places
from app.services.organizations import create_organization

DEMO_COUNTIES = (
    dict(code="makueni", name="Makueni County", county="Makueni", ussd_codes=["*483*1#"],
         sms_short_codes=["40014"], sms_sender="40014", voice_numbers=[], voice_display=None),
    dict(code="nandi", name="Nandi County", county="Nandi", ussd_codes=["*483*2#"],
         sms_short_codes=["1548"], sms_sender="1548", voice_numbers=["+254711082548"],
         voice_display="1548"),
)
DEMO_RESIDENTS = (("+254700000101", "en"), ("+254700000102", "sw"), ("+254700000103", None))


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
        for role in (Role.ADMIN, Role.OFFICER, Role.AGENT, Role.APPROVER):
            email = f"{role.value}@{spec['code']}.demo"
            password = secrets.token_urlsafe(9)
            accounts.create_user(db, email, f"Demo {role.value} ({spec['name']})", role,
                                 organization.id, password)
            logins.append(Login(spec["code"], role.value, email, password))
    return logins


def has_organizations(db: Session) -> bool:
    return db.scalar(select(Organization.id).limit(1)) is not None


def _read_rows(path: Path | None) -> list[dict[str, str]]:
    if path is None or not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))
