"""Test data made by the same services the product uses."""

from __future__ import annotations

from app.runtime import Runtime
from app.services import contacts
from app.services.organizations import create_organization

MAKUENI_USSD = "*483*1#"
NANDI_USSD = "*483*2#"


def add_counties(runtime: Runtime) -> None:
    """Two organizations as the demo has them, without their wards."""
    with runtime.sessions.begin() as db:
        create_organization(db, code="makueni", name="Makueni County", country="KE",
                            currency="KES", languages=["en", "sw"], ussd_codes=[MAKUENI_USSD],
                            sms_short_codes=["40014"], sms_sender="40014")
        create_organization(db, code="nandi", name="Nandi County", country="KE",
                            currency="KES", languages=["sw", "en"], ussd_codes=[NANDI_USSD],
                            sms_short_codes=["1548"], voice_numbers=["+254711082548"],
                            sms_sender="1548", voice_display="1548")


def add_contact(runtime: Runtime, org_code: str, msisdn: str, language: str | None) -> None:
    from app.services.organizations import organization_by_code

    with runtime.sessions.begin() as db:
        org = organization_by_code(db, org_code)
        contact = contacts.ensure_contact(db, org.id, msisdn)
        contact.language = language
