"""`baraza db upgrade|check|revision`: the schema, through Alembic only."""

from __future__ import annotations

import click

from app.db import migrate
from app.db.session import make_engine
from app.settings import load_settings


@click.group("db")
def group() -> None:
    """Database schema."""


def _engine():
    settings = load_settings()
    if settings.database_url.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True)
    return make_engine(settings.database_url)


@group.command("upgrade")
def upgrade() -> None:
    """Migrate the database to the newest revision."""
    migrate.upgrade(_engine())
    click.echo("database is up to date")


@group.command("check")
def check() -> None:
    """Fail when the models have changes no migration makes."""
    migrate.check(_engine())
    click.echo("models and migrations agree")


@group.command("revision")
@click.option("-m", "--message", required=True)
def revision(message: str) -> None:
    """Write a migration for what changed in the models."""
    migrate.revision(load_settings().database_url, message)


def register(main: click.Group) -> None:
    main.add_command(group)
