"""Alembic is the only way the schema is made, and the models never drift from it."""

from __future__ import annotations

from sqlalchemy import inspect

from app.db import migrate
from app.db.base import Base


def test_migrations_match_the_models(runtime):
    migrate.check(runtime.db)  # raises when a model change has no migration


def test_every_model_table_exists(runtime):
    tables = set(inspect(runtime.db).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables
