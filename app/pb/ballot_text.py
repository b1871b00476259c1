"""A ballot in few words, for USSD screens and SMS replies alike. Pure.

Amounts are compact (400K, 1.2M, 500M): three significant digits, rounded down, so "left"
never promises more than there is. Texts are English msgids marked with N_(); callers pass
the gettext of the voter's language. Notes (what happened on the last toggle) travel in a
session's answers as short codes ("over:50000", "many:3") and are put into words here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from app.engine.flow import N_
from app.pb.ballot_rules import BallotKind, BallotSpec, remaining, selected_cost

Gettext = Callable[[str], str]

# What is left, on top of the ballot list (USSD) -----------------------------------------
BUDGET_LEFT = N_("Budget left: {amount}")
CHOICES_LEFT = N_("Choices left: {left} of {whole}")
CHOOSE_ONE = N_("Choose one project:")
POINTS_LEFT = N_("Points left: {left} of {whole}")
HINT_TOGGLE = N_("Pick a number; again to remove.")
HINT_POINTS = N_("Pick a project to give points.")

# Notes after the last step -----------------------------------------------------------------
NOTE_RESUMED = N_("Your earlier choices are back.")
NOTE_VOTED = N_("You voted; * marks your choices.")
NOTE_OVER = N_("Over budget by {amount}.")
NOTE_MANY = N_("At most {whole} choices.")
NOTE_POINTS = N_("Only {left} points left.")
NOTE_EMPTY = N_("Choose at least one project.")

# Summaries (USSD before confirming) and the "of" in totals --------------------------------
YOU_CHOSE = N_("You chose {codes}")
COST_OF = N_("Cost: {part} of {whole}")
PART_OF = N_("{part} of {whole}")
POINTS_OF = N_("{part} of {whole} points")
YOUR_POINTS = N_("Your points: {codes}")
POINTS_NOW = N_("{title}: {now} now, {left} left.")

SUMMARY_LENGTH = 80  # pb_summary's max_length in the flow
STATUS_LENGTH = 80  # pb_status's
ASK_LENGTH = 60  # pb_ask's
TITLE_LENGTH = 18  # a proposal's title on a USSD list

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, **values: object) -> str:
    """`{name}` replaced; a name a translator mistyped becomes empty, never a crash."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), template)


def money(amount: int) -> str:
    """400000 -> 400K, 1250000 -> 1.25M, 950 -> 950: at most three significant digits."""
    sign, amount = ("-", -amount) if amount < 0 else ("", amount)
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if amount >= size:
            whole = amount // size
            decimals = max(0, 3 - len(str(whole)))
            scaled = amount * 10**decimals // size  # rounded down
            text = str(scaled) if decimals == 0 else f"{scaled / 10**decimals:.{decimals}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}{text}{suffix}"
    return f"{sign}{amount}"


def priced(amount: int, currency: str) -> str:
    return f"{currency} {money(amount)}" if currency else money(amount)


def short_title(title: str, width: int = TITLE_LENGTH) -> str:
    """A title cut to `width`, at a word boundary when one is not too early."""
    title = " ".join(title.split())
    if len(title) <= width:
        return title
    cut = title[:width + 1].rsplit(" ", 1)[0]
    return cut if len(cut) >= width * 2 // 3 else title[:width]


def codes_text(codes: Iterable[str], width: int) -> str:
    """'3, 12, 7', or '3, 12, ... (+5)' when the whole list is wider than `width`."""
    items = list(codes)
    text = ", ".join(items)
    if len(text) <= width:
        return text
    for shown in range(len(items) - 1, 0, -1):
        text = f"{', '.join(items[:shown])}, ... (+{len(items) - shown})"
        if len(text) <= width:
            return text
    return f"... (+{len(items)})"


def selection_codes(spec: BallotSpec, selection: Mapping[int, int]) -> list[str]:
    """'3', '12' (or '3=4' with points) in code order."""
    if spec.kind == BallotKind.CUMULATIVE:
        return [f"{code}={points}" for code, points in sorted(selection.items())]
    return [str(code) for code in sorted(selection)]


def status_text(spec: BallotSpec, selection: Mapping[int, int], note: str, currency: str,
                _: Gettext) -> str:
    """The ballot screen's prompt: a note if any, then what is left (or a hint at first)."""
    lines = [note_text(note, currency, _)]
    if spec.kind == BallotKind.APPROVAL:
        lines.append(fill(_(BUDGET_LEFT), amount=priced(remaining(spec, selection), currency)))
    elif spec.kind == BallotKind.K_APPROVAL:
        lines.append(fill(_(CHOICES_LEFT), left=remaining(spec, selection),
                          whole=spec.max_choices or 0))
    elif spec.kind == BallotKind.CUMULATIVE:
        lines.append(fill(_(POINTS_LEFT), left=remaining(spec, selection),
                          whole=spec.points or 0))
    else:
        lines.append(_(CHOOSE_ONE))
    if not selection and not note and spec.kind != BallotKind.CHOOSE_ONE:
        lines.append(_(HINT_POINTS if spec.kind == BallotKind.CUMULATIVE else HINT_TOGGLE))
    return "\n".join(line for line in lines if line)[:STATUS_LENGTH]


def note_text(note: str, currency: str, _: Gettext) -> str:
    kind, _sep, value = note.partition(":")
    amount = int(value) if value.isdigit() else 0
    if kind == "resumed":
        return _(NOTE_RESUMED)
    if kind == "voted":
        return _(NOTE_VOTED)
    if kind == "over":
        return fill(_(NOTE_OVER), amount=priced(amount, currency))
    if kind == "many":
        return fill(_(NOTE_MANY), whole=amount)
    if kind == "points":
        return fill(_(NOTE_POINTS), left=amount)
    if kind == "empty":
        return _(NOTE_EMPTY)
    return ""


def total_text(spec: BallotSpec, selection: Mapping[int, int], currency: str,
               _: Gettext) -> str:
    """'KES 950K of 1M', '3 of 3' or '10 of 10 points': how full the ballot is."""
    if spec.kind == BallotKind.APPROVAL:
        return fill(_(PART_OF), part=priced(selected_cost(spec, selection), currency),
                    whole=money(spec.budget))
    if spec.kind == BallotKind.CUMULATIVE:
        return fill(_(POINTS_OF), part=sum(selection.values()), whole=spec.points or 0)
    return fill(_(PART_OF), part=len(selection), whole=spec.choice_limit or 1)


def summary_text(spec: BallotSpec, selection: Mapping[int, int], titles: Mapping[int, str],
                 currency: str, _: Gettext) -> str:
    """What the voter is about to confirm, within SUMMARY_LENGTH."""
    codes = selection_codes(spec, selection)
    if spec.kind == BallotKind.CHOOSE_ONE and codes:
        code = int(codes[0])
        text = fill(_(YOU_CHOSE), codes=f"{code}. {titles.get(code, '')}")
        return text[:SUMMARY_LENGTH]
    if spec.kind == BallotKind.APPROVAL:
        total = fill(_(COST_OF), part=priced(selected_cost(spec, selection), currency),
                     whole=money(spec.budget))
        frame = _(YOU_CHOSE) + "\n" + total
    elif spec.kind == BallotKind.CUMULATIVE:
        frame = _(YOUR_POINTS) + " (" + total_text(spec, selection, currency, _) + ")"
    else:
        frame = _(YOU_CHOSE) + " (" + total_text(spec, selection, currency, _) + ")"
    room = SUMMARY_LENGTH - len(fill(frame, codes=""))
    return fill(frame, codes=codes_text(codes, max(room, 8)))[:SUMMARY_LENGTH]


def proposal_label(title: str, cost: int, points: int | None, cumulative: bool) -> str:
    """One line of the ballot list: '*Borehole at Kalawa 400K', with '(4)' for points."""
    label = f"{short_title(title)} {money(cost)}"
    if not points:
        return label
    return f"*{label} ({points})" if cumulative else f"*{label}"
