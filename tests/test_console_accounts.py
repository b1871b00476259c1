"""Console accounts: the service's rules, the audit helper and `baraza users create`."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.cli import main
from app.cli import users as users_cli
from app.db.models import AuditEntry, Role, User
from app.services import accounts, audit, organizations
from tests.console_support import PASSWORD, add_user
from tests.factories import add_counties


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


def org_id(db, code: str) -> int:
    return organizations.organization_by_code(db, code).id


@pytest.mark.parametrize(("email", "role", "org", "password", "message"), [
    ("a@b.org", "officer", "makueni", "123456789", "at least 10 characters"),
    ("a@b.org", "officer", None, PASSWORD, "an officer must belong to an organization"),
    ("a@b.org", "boss", "makueni", PASSWORD, "role must be one of admin, officer"),
    ("a-at-b.org", "officer", "makueni", PASSWORD, "not an email address"),
    ("A@B.org", "officer", "makueni", PASSWORD, "a user with email a@b.org already exists"),
])
def test_create_user_refuses_with_a_clear_reason(runtime, email, role, org, password, message):
    add_user(runtime, "agent", email="a@b.org")
    with runtime.sessions.begin() as db, pytest.raises(accounts.AccountError, match=message):
        accounts.create_user(db, email, "Someone", role, org_id(db, org) if org else None,
                             password)


def test_passwords_are_stored_hashed(runtime, db):
    add_user(runtime, "officer")
    stored = db.scalar(select(User)).password_hash
    assert PASSWORD not in stored and stored.startswith("scrypt:")


def test_authenticate(runtime, db):
    email = add_user(runtime, "officer")
    assert accounts.authenticate(db, email.upper(), PASSWORD).email == email
    assert accounts.authenticate(db, email, PASSWORD + "x") is None
    assert accounts.authenticate(db, "nobody@example.org", PASSWORD) is None
    db.scalar(select(User)).active = False
    assert accounts.authenticate(db, email, PASSWORD) is None


def test_audit_record_joins_the_callers_transaction(runtime):
    with runtime.sessions.begin() as db:
        user = accounts.create_user(db, "x@y.org", "X", Role.ADMIN, None, PASSWORD)
        audit.record(db, user, "thing.change", "thing", 7, {"why": "test"},
                     organization_id=org_id(db, "nandi"))
    try:
        with runtime.sessions.begin() as db:
            audit.record(db, None, "thing.change", "thing", 8)
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    with runtime.sessions() as db:
        entries = db.scalars(select(AuditEntry)).all()
        assert [(e.entity_id, e.detail) for e in entries] == [("7", {"why": "test"})]


# --- baraza users create --------------------------------------------------------------------

def invoke(runtime, *args: str, prompt: str | None = None):
    # The group is invoked directly so the command uses the test's runtime, not the environment's.
    return CliRunner().invoke(users_cli.group, ["create", *args], input=prompt,
                              obj=SimpleNamespace(runtime=runtime))


def test_users_command_is_registered():
    assert "create" in main.commands["users"].commands


def test_cli_creates_an_organization_user_and_audits_it(runtime, db):
    result = invoke(runtime, "--email", "Officer@Nandi.example.org", "--name", "Officer",
                    "--role", "officer", "--org", "nandi", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "created officer officer@nandi.example.org for organization nandi" in result.output
    user = db.scalar(select(User))
    assert user.organization_id == org_id(db, "nandi")
    entry = db.scalar(select(AuditEntry))
    assert (entry.action, entry.user_id, entry.organization_id) == ("user.create", None,
                                                                    user.organization_id)


def test_cli_gives_a_supervisor_a_phone_for_escalation_sms(runtime, db):
    result = invoke(runtime, "--email", "lead@nandi.example.org", "--name", "Lead",
                    "--role", "supervisor", "--org", "nandi", "--password", PASSWORD,
                    "--phone", "0722 000 111")
    assert result.exit_code == 0, result.output
    assert db.scalar(select(User)).msisdn == "+254722000111"


def test_cli_prompts_for_the_password_twice(runtime, db):
    result = invoke(runtime, "--email", "root@example.org", "--name", "Root", "--role", "admin",
                    prompt=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "platform admin" in result.output and PASSWORD not in result.output
    user = db.scalar(select(User))
    assert user.organization_id is None and accounts.authenticate(db, "root@example.org",
                                                                  PASSWORD)


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "officer"], "--org is required"),
    (["--role", "admin", "--org", "kisumu"], "no organization with code 'kisumu'"),
    (["--role", "admin", "--org", "nandi", "--password", "short"], "at least 10 characters"),
    (["--role", "king"], "Invalid value for '--role'"),
    (["--role", "agent", "--org", "nandi", "--password", PASSWORD, "--phone", "12"],
     "Invalid value for --phone"),
])
def test_cli_refuses_with_a_clear_message(runtime, db, args, message):
    result = invoke(runtime, "--email", "x@example.org", "--name", "X", *args)
    assert result.exit_code != 0 and message in result.output
    assert db.scalars(select(User)).all() == []
