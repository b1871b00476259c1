"""`column IN (values)` for long lists: one array parameter on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ARRAY, ColumnElement, Integer, Text, any_, bindparam, cast
from sqlalchemy.orm import Session

from app.db.upserts import dialect_of


def one_of(db: Session, column: ColumnElement, values: Sequence, name: str) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(:name)`, one array parameter rather than
    one per value: a wave's statement stays the same text whatever its length, so the driver
    caches it and the server parses it once, instead of converting thousands of parameters."""
    if dialect_of(db) != "postgresql":
        return column.in_(list(values))
    if isinstance(column.type, Integer):
        # Whole numbers go as one array literal: the driver dumps a list element by element
        # in Python, which costs more than the statement on a send's hot path.
        literal = "{" + ",".join(str(int(value)) for value in values) + "}"
        return column == any_(cast(bindparam(name, literal, type_=Text), ARRAY(Integer)))
    return column == any_(bindparam(name, list(values), type_=ARRAY(column.type)))
