"""A campaign message's text, judged before anything is sent: placeholders, encoding, parts, cost.

Pure: no database, no Flask. GSM-7 and UCS-2 rules are AT's (../shared/AT-PROTOCOL.md): a single
character outside GSM-7 switches the whole message to UCS-2; a long message is split in parts of
153 (GSM-7) or 67 (UCS-2) characters, and each part is billed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from app.engine.flow import N_
from app.engine.render import _GSM7

PLACEHOLDERS = ("name", "ward", "org")  # what a campaign may put in braces
# GSM 03.38 extension table: each costs two septets (an escape, then the character).
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# The longest a placeholder's value may grow when filled: counted in the preview's estimate.
PLACEHOLDER_ROOM = {"name": 30, "ward": 30, "org": 40}

Gettext = Callable[[str], str]

# Appended to the first campaign message a number gets from an organization.
STOP_HINT = N_("Reply STOP to stop")

_BRACES = re.compile(r"\{([^{}]*)\}")


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class TextCheck:
    """What one language's message costs and what is wrong with it."""

    language: str
    encoding: Encoding
    length: int  # characters (GSM-7 septets: extension characters count twice)
    parts: int
    ucs2_characters: tuple[str, ...]  # each character that forces UCS-2, once, in order
    unknown_placeholders: tuple[str, ...]
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


class MessageError(ValueError):
    """A campaign's messages cannot be sent as written."""


def ucs2_characters(text: str) -> tuple[str, ...]:
    """The characters of `text` outside GSM-7 (basic set and extension), first occurrence each."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in _GSM7 and ch not in GSM7_EXTENDED:
            seen.setdefault(ch, None)
    return tuple(seen)


def encoding_of(text: str) -> Encoding:
    return Encoding.UCS2 if ucs2_characters(text) else Encoding.GSM7


def length_of(text: str, encoding: Encoding | None = None) -> int:
    """The message's length as the network counts it."""
    encoding = encoding or encoding_of(text)
    if encoding is Encoding.UCS2:
        # Characters beyond the Basic Multilingual Plane (most emoji) take two UTF-16 units.
        return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)


def parts_for(length: int, encoding: Encoding) -> int:
    """How many SMS a message of `length` is split into (0 for an empty message)."""
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding is Encoding.GSM7 else \
        (UCS2_SINGLE, UCS2_PART)
    if length <= 0:
        return 0
    if length <= single:
        return 1
    return -(-length // part)


def placeholders_in(text: str) -> tuple[str, ...]:
    return tuple(_BRACES.findall(text))


def check_text(language: str, text: str, *, room: Mapping[str, int] = PLACEHOLDER_ROOM,
               suffix: str = "") -> TextCheck:
    """Judge one language's message; placeholders count at their longest filled length, and
    `suffix` (the stop hint a first message carries) counts too."""
    errors = []
    names = placeholders_in(text)
    unknown = tuple(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        errors.append(f"{language}: unknown placeholder(s) "
                      + ", ".join("{" + n + "}" for n in unknown)
                      + "; use " + ", ".join("{" + n + "}" for n in PLACEHOLDERS))
    if "{" in _BRACES.sub("", text) or "}" in _BRACES.sub("", text):
        errors.append(f"{language}: unbalanced braces")
    if not text.strip():
        errors.append(f"{language}: the message is empty")
    worst = _BRACES.sub(lambda m: "x" * room.get(m.group(1), 0), text) + suffix
    encoding = encoding_of(text + suffix)
    length = length_of(worst, encoding)
    return TextCheck(language, encoding, length, parts_for(length, encoding),
                     ucs2_characters(text + suffix), unknown, tuple(errors))


def check_messages(messages: Mapping[str, str], languages: list[str]) -> list[TextCheck]:
    """Check each message; raise MessageError if any is wrong or none is in a known language."""
    checks = [check_text(language, text) for language, text in messages.items()]
    errors = [e for check in checks for e in check.errors]
    stray = [language for language in messages if language not in languages]
    if stray:
        errors.append(f"no such language in this organization: {', '.join(stray)}")
    if not messages:
        errors.append("a campaign needs a message in at least one language")
    if errors:
        raise MessageError("; ".join(errors))
    return checks


def render(text: str, values: Mapping[str, str | None]) -> str:
    """Fill the placeholders (a missing value becomes empty), cutting each to its room."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return (values.get(name) or "")[:PLACEHOLDER_ROOM.get(name, 30)]

    filled = _BRACES.sub(fill, text)
    return re.sub(r" {2,}", " ", filled).replace(" ,", ",").strip()


@dataclass(frozen=True)
class Price:
    per_part: Decimal
    currency: str

    @classmethod
    def parse(cls, text: str) -> Price:
        """'0.80 KES' or 'KES 0.80' (AT's own cost format)."""
        words = text.split()
        if len(words) != 2:
            raise ValueError(f"SMS_PRICE_PER_PART must look like '0.80 KES', got {text!r}")
        amount, currency = (words[0], words[1]) if _is_number(words[0]) else (words[1], words[0])
        if not _is_number(amount):
            raise ValueError(f"SMS_PRICE_PER_PART must look like '0.80 KES', got {text!r}")
        return cls(Decimal(amount), currency.upper())

    def cost(self, parts: int) -> Decimal:
        return (self.per_part * parts).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def format(self, parts: int) -> str:
        return f"{self.currency} {self.cost(parts)}"


def _is_number(word: str) -> bool:
    try:
        Decimal(word)
    except ArithmeticError:
        return False
    return True


def message_language(language: str, messages: Mapping[str, str], default: str) -> str:
    """The language a recipient is written to in: theirs if the campaign has it, else the
    organization's default, else the campaign's first."""
    if language in messages:
        return language
    if default in messages:
        return default
    return next(iter(messages))


def with_stop_hint(body: str, hint: str) -> str:
    return f"{body} {hint}" if body else hint
