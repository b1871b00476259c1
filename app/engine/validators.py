"""Built-in input validators; the host may register more under other names."""

from __future__ import annotations

from app.engine.flow import N_, Invalid, Valid, Validator

# More digits than any count a caller types; int() refuses thousands of them.
MAX_DIGITS = 18


def is_number(value: str, max_digits: int = MAX_DIGITS) -> bool:
    """ASCII digits only: "²" is a digit to str.isdigit() but not to int(); "٤" is no key."""
    return value.isascii() and value.isdigit() and len(value) <= max_digits


def text(raw: str) -> Valid | Invalid:
    value = " ".join(raw.split())
    return Valid(value) if value else Invalid(N_("Please type an answer."))


def digits(raw: str) -> Valid | Invalid:
    value = raw.strip()
    return Valid(value) if is_number(value) else Invalid(N_("Please use numbers only."))


def percent(raw: str) -> Valid | Invalid:
    value = raw.strip().rstrip("%").strip()
    if is_number(value, 3) and 0 <= int(value) <= 100:
        return Valid(str(int(value)))
    return Invalid(N_("Enter a number from 0 to 100."))


BUILT_IN: dict[str, Validator] = {"text": text, "digits": digits, "percent": percent}
