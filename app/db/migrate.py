"""Run Alembic from code: the only way the schema is made, in the app, the CLI and tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from app.settings import ROOT

MIGRATIONS_DIR = ROOT / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "head")


def check(engine: Engine) -> None:
    """Raise if the models have changes that no migration makes."""
    with engine.connect() as connection:
        command.check(alembic_config(connection=connection))


def revision(url: str, message: str) -> None:
    """Write a new migration from the difference between models and the database."""
    command.revision(alembic_config(url=url), message=message, autogenerate=True)
