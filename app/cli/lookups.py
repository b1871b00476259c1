"""What several commands look up by what an operator typed, refused with one clear message."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from app.db.models import Organization
from app.services.organizations import organization_by_code


def organization_named(db: Session, code: str) -> Organization:
    """The organization with this code, or a ClickException naming what was typed."""
    organization = organization_by_code(db, code)
    if organization is None:
        raise click.ClickException(f"no organization with code {code!r}")
    return organization
