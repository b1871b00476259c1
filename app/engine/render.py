"""Turn a node into screen text within the size limit, paging long option lists."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.engine.flow import N_

Gettext = Callable[[str], str]

PREFIX_LENGTH = len("CON ")  # the prefix counts against the operator's limit
MORE_KEY, BACK_KEY, HOME_KEY = "98", "0", "00"
MORE = N_("More")
BACK = N_("Back")
HOME = N_("Main menu")
INVALID_CHOICE = N_("Invalid choice.")
ELLIPSIS = "..."

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# GSM 03.38 basic set without escapes: anything else would switch the phone to UCS-2.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_LOOKALIKES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "."})


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def fill(text: str, values: Mapping[str, str], limits: Mapping[str, int]) -> str:
    """Replace {name} with its value, cut to the length the validator checked screens with."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values.get(name, ""))[: limits.get(name, 30)]

    return _PLACEHOLDER.sub(value_of, text)


def to_gsm7(text: str) -> str:
    """Keep a screen in GSM-7: fold lookalikes and accents, drop what has no equivalent."""
    text = text.translate(_LOOKALIKES)
    if _GSM7.issuperset(text):  # one C loop: this runs on every screen
        return text
    return "".join(ch if ch in _GSM7 else _fold(ch) for ch in text)


def _fold(ch: str) -> str:
    return "".join(part for part in unicodedata.normalize("NFKD", ch) if part in _GSM7)


@dataclass(frozen=True)
class Line:
    key: str
    label: str

    def text(self) -> str:
        return f"{self.key}. {self.label}"


def page_breaks(header: Sequence[str], items: Sequence[Line], footer: Sequence[Line],
                more: Line, limit: int) -> list[tuple[int, int]]:
    """Split items into pages [(start, stop)] so each page's screen fits in `limit`.

    Every page keeps room for the header, footer and a "98. More" line when more follows.
    An item too long to fit alone still gets a page of its own (it is cut when rendered).
    """
    fixed = sum(len(line) + 1 for line in header) + sum(len(f.text()) + 1 for f in footer)
    room = limit - PREFIX_LENGTH - fixed
    more_cost = len(more.text()) + 1
    pages: list[tuple[int, int]] = []
    start = 0
    while start < len(items):
        used, stop = 0, start
        while stop < len(items):
            cost = len(items[stop].text()) + 1
            reserve = more_cost if stop + 1 < len(items) else 0
            if stop > start and used + cost + reserve > room:
                break
            used += cost
            stop += 1
        pages.append((start, stop))
        start = stop
    return pages or [(0, 0)]


def compose(header: Sequence[str], lines: Sequence[Line], limit: int) -> str:
    """Join a screen; cut the longest option labels if data made it too long."""
    body = [h for h in header if h] + [line.text() for line in lines]
    text = to_gsm7("\n".join(body))
    budget = limit - PREFIX_LENGTH
    if len(text) <= budget:
        return text
    return _shorten(header, list(lines), budget)


def _shorten(header: Sequence[str], lines: list[Line], budget: int) -> str:
    header_text = to_gsm7("\n".join(h for h in header if h))
    while True:
        text = "\n".join([header_text] + [line.text() for line in lines]) if header_text else \
            "\n".join(line.text() for line in lines)
        text = to_gsm7(text)
        excess = len(text) - budget
        if excess <= 0:
            return text
        longest = max(range(len(lines)), key=lambda i: len(lines[i].label), default=None)
        if longest is None or len(lines[longest].label) <= len(ELLIPSIS) + 1:
            return text[:budget]  # nothing left to shorten: hard cut keeps AT's rules
        label = lines[longest].label
        keep = max(1, len(label) - excess - len(ELLIPSIS))
        lines[longest] = Line(lines[longest].key, label[:keep] + ELLIPSIS)
