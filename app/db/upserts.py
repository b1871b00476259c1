"""INSERT ... ON CONFLICT in the session's dialect: PostgreSQL in production, SQLite in dev."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_of(db: Session) -> str:
    return db.get_bind().dialect.name


def insert_for(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` that can say `on_conflict_do_nothing` / `on_conflict_do_update`:
    one statement where a SELECT and then an INSERT or UPDATE would be two or three. Build it
    once per dialect (functools.cache): building a statement costs more than running it."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
