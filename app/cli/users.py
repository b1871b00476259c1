"""`baraza users create`: console accounts, starting with the first admin."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.cli.lookups import organization_named
from app.db.models import Organization, Role
from app.services import accounts, audit


@click.group("users")
def group() -> None:
    """Console users."""


@group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_code", default=None,
              help="organization code; leave out for a platform admin who serves all")
@click.option("--password", default=None,
              help="prompted (with confirmation) when left out, which keeps it out of "
                   "shell history")
@click.option("--phone", default=None,
              help="the user's mobile, read in the organization's country: where a "
                   "supervisor gets escalation SMS")
@click.pass_obj
def create(obj, email: str, name: str, role: str, org_code: str | None,
           password: str | None, phone: str | None) -> None:
    """Create a console user (no --org: a platform admin, for --role admin only)."""
    # Mistakes are reported before the password is asked for, not after; create_user enforces
    # the same rules.
    if org_code is None and role != Role.ADMIN:
        raise click.UsageError("--org is required: only an admin may serve every organization")
    with obj.runtime.sessions() as db:
        organization_id = _organization_id(db, org_code)
        msisdn = _phone(db, organization_id, phone)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with obj.runtime.sessions.begin() as db:
        try:
            user = accounts.create_user(db, email, name, role, organization_id, password)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        user.msisdn = msisdn
        audit.record(db, None, "user.create", "user", user.id,
                     {"email": user.email, "role": role, "via": "command line"},
                     organization_id=organization_id)
    scope = f"organization {org_code}" if org_code else "every organization (platform admin)"
    click.echo(f"created {role} {user.email} for {scope}")


def _organization_id(db: Session, org_code: str | None) -> int | None:
    if org_code is None:
        return None
    return organization_named(db, org_code).id


def _phone(db: Session, organization_id: int | None, phone: str | None) -> str | None:
    if phone is None:
        return None
    region = db.get(Organization, organization_id).country if organization_id else "KE"
    try:
        return normalise_msisdn(phone, region)
    except InvalidPhoneNumber as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc


def register(main: click.Group) -> None:
    main.add_command(group)
