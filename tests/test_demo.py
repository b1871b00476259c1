"""`baraza demo seed`: two counties with their real wards, logins that work, demo residents."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli import main
from app.db.base import utcnow
from app.db.models import Channel, Contact, Cycle, OutboxMessage, Phase, Ticket, User
from app.services import accounts, places
from app.services.organizations import organization_by_code, organization_for
from tests.conftest import SHARED_DATA

WARDS_CSV = SHARED_DATA / "kenya_wards.csv"


@pytest.fixture
def cli(runtime, monkeypatch):
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_seed_creates_both_counties_with_logins_that_work(cli, runtime):
    if not WARDS_CSV.exists():
        pytest.skip(f"{WARDS_CSV} is absent (reference data lives beside the checkout)")
    result = cli("demo", "seed", "--wards", str(WARDS_CSV))
    assert result.exit_code == 0, result.output
    logins = re.findall(r"^\s+(\w+)\s+(\w+)\s+(\S+@\S+)\s+(\S+)$", result.output, re.M)
    assert {(org, role) for org, role, _, _ in logins} == {
        (org, role) for org in ("makueni", "nandi")
        for role in ("admin", "officer", "agent", "approver", "supervisor")}
    with runtime.sessions() as db:
        for _, role, email, password in logins:
            user = accounts.authenticate(db, email, password)
            assert user is not None and user.role == role
        assert organization_for(db, Channel.USSD, "*483*1#").code == "makueni"
        assert organization_for(db, Channel.SMS, "40014").code == "makueni"
        nandi = organization_for(db, Channel.VOICE, "+254711082548")
        assert (nandi.code, nandi.voice_display) == ("nandi", "1548")
        for code in ("makueni", "nandi"):
            org = organization_by_code(db, code)
            assert len(places.wards_of(db, org.id)) == 30
            residents = db.scalars(select(Contact).where(Contact.organization_id == org.id)).all()
            assert residents and all(c.name.startswith("Demo resident") for c in residents)
            assert all(c.ward_id for c in residents)
            [cycle] = db.scalars(select(Cycle).where(Cycle.organization_id == org.id)).all()
            assert cycle.phase == Phase.VOTING and "not a real vote" in cycle.name
            assert all("not a real proposal" in p.description for p in cycle.proposals)
        demo_tickets = db.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [t.organization_id for t in demo_tickets] == [nandi.id, nandi.id]
        assert all(t.description.startswith("Demo ") for t in demo_tickets)
        assert [t.due_at < utcnow() for t in demo_tickets] == [False, True]  # one overdue
        assert db.scalar(select(func.count(OutboxMessage.id))) == 0  # nobody to text


def test_seed_if_empty_leaves_an_existing_database_alone(cli, runtime, tmp_path):
    missing = tmp_path / "none.csv"
    first = cli("demo", "seed", "--wards", str(missing))
    assert first.exit_code == 0 and "organizations get no wards" in first.output
    again = cli("demo", "seed", "--if-empty")
    assert "nothing seeded" in again.output
    with runtime.sessions() as db:
        assert db.scalar(select(func.count(User.id))) == 10  # five roles in each county
    refused = CliRunner().invoke(main, ["demo", "seed"])
    assert refused.exit_code == 1 and "exist already" in refused.output
