"""Whole numbers typed by people: ASCII digits only.

`str.isdigit()` is True for "²" and "٣", which `int()` refuses or reads as another number,
so every parse of a typed count or id goes through here. (The flow engine, which imports
nothing outside app.engine, has its own `is_number`.)
"""

from __future__ import annotations

MAX_DIGITS = 18  # more than any id or count; int() is slow on thousands of digits


def is_whole(text: str, max_digits: int = MAX_DIGITS) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= max_digits


def whole_or_none(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The number `text` is, or None for anything else ("", "²", "12a", 40 digits)."""
    return int(text) if is_whole(text, max_digits) else None
