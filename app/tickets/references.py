"""Ticket references: digits only, easy to read out and type on a keypad, with a check digit.

The check digit is Damm's: it catches every single mistyped digit and every swap of two
neighbouring digits, the two mistakes people make most when copying a number.
"""

from __future__ import annotations

import random

# Damm's totally anti-symmetric quasigroup of order 10.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
BODY_DIGITS = 6  # a million references per organization before any need to grow
MAX_LENGTH = 12  # the column's width


def check_digit(body: str) -> str:
    """The digit that makes `body + digit` valid."""
    interim = 0
    for char in body:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def is_valid(reference: str) -> bool:
    """True for a string of digits whose last digit checks the rest."""
    if not reference.isascii() or not reference.isdigit() or len(reference) < 2:
        return False
    return check_digit(reference) == "0"  # Damm: a valid number checks to zero


def cleaned(typed: str) -> str:
    """What a caller typed, without the spaces, dashes, dots and '#' that keypads and SMS add."""
    return "".join(char for char in typed if char not in " -.#/\t")[:MAX_LENGTH + 1]


def new_reference(rng: random.Random | None = None, body_digits: int = BODY_DIGITS) -> str:
    """A random reference (never starting with 0, which callers drop when reading out)."""
    rng = rng or random.SystemRandom()
    body = str(rng.randrange(10 ** (body_digits - 1), 10 ** body_digits))
    return body + check_digit(body)
