"""Whole numbers typed by people: ASCII digits only.

`str.isdigit()` is True for "²" and "٣", which `int()` refuses or reads as another number,
so every parse of a typed count or id goes through here. (The flow engine, which imports
nothing outside app.engine, has its own `is_number`.)
"""

from __future__ import annotations

MAX_DIGITS = 18  # more than any id or count; int() is slow on thousands of digits
MAX_ID = 2**31 - 1  # every table's id is a PostgreSQL integer


def is_whole(text: str, max_digits: int = MAX_DIGITS) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= max_digits


def whole_or_none(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The number `text` is, or None for anything else ("", "²", "12a", 40 digits)."""
    return int(text) if is_whole(text, max_digits) else None


def id_or_none(text: str) -> int | None:
    """A row id as a form or query sends it, or None: past MAX_ID no row has it, and
    PostgreSQL would refuse the query ("integer out of range") rather than find nothing."""
    number = whole_or_none(text, 10)
    return number if number is not None and number <= MAX_ID else None
