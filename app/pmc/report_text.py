"""Reading a PMC progress report typed on a keypad: `PMC <code> <progress %> <status> [comment]`.

Pure: text in, a parsed report or the one thing that is wrong out. Members type on feature
phones, so it forgives what does not change the meaning: any case, extra spaces, `%` stuck to
the number or apart from it ("45%", "45 %"), a status written as one word or two ("ON TRACK",
"on-track"), in English or Kiswahili, and the status before the progress. A project code is
one word as the county wrote it ("MK-014", "NDI/2024/07"); the service matches it without
regard to case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.db.models.projects import ReportStatus

# Every way a status may be written, squeezed (letters only, casefolded). Kiswahili: sawa
# ("fine"), hatarini ("at risk"), nyuma ("behind"), imekwama ("has got stuck"), imekamilika
# ("is complete").
STATUS_WORDS: dict[str, ReportStatus] = {
    "ontrack": ReportStatus.ONTRACK, "sawa": ReportStatus.ONTRACK,
    "atrisk": ReportStatus.ATRISK, "risk": ReportStatus.ATRISK, "hatarini": ReportStatus.ATRISK,
    "offtrack": ReportStatus.OFFTRACK, "behind": ReportStatus.OFFTRACK,
    "nyuma": ReportStatus.OFFTRACK, "imechelewa": ReportStatus.OFFTRACK,
    "stalled": ReportStatus.STALLED, "imekwama": ReportStatus.STALLED,
    "imesimama": ReportStatus.STALLED,
    "complete": ReportStatus.COMPLETE, "completed": ReportStatus.COMPLETE,
    "done": ReportStatus.COMPLETE, "imekamilika": ReportStatus.COMPLETE,
    "kamili": ReportStatus.COMPLETE,
}
_PROGRESS = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*%?$")
_PERCENT_ALONE = "%"
MAX_COMMENT = 480  # three SMS parts; longer is cut, never refused


class Problem(StrEnum):
    """What is wrong with a report, one at a time, in the order a member would fix it."""

    NO_CODE = "no_code"
    NO_PROGRESS = "no_progress"
    BAD_PROGRESS = "bad_progress"  # not a whole number from 0 to 100
    NO_STATUS = "no_status"
    BAD_STATUS = "bad_status"


@dataclass(frozen=True)
class ReportText:
    project_code: str
    progress: int
    status: ReportStatus
    comment: str


@dataclass(frozen=True)
class ReportTextError:
    problem: Problem
    project_code: str | None = None  # known once the code was read, for a helpful example
    word: str | None = None  # what was typed where the progress or status should be


def _squeeze(word: str) -> str:
    return re.sub(r"[\W_]+", "", word).casefold()  # digits stay: "45 ontrack" is no status


def _status_at(words: list[str], at: int) -> tuple[ReportStatus, int] | None:
    """The status at words[at], written as one word or two; with the count of words used."""
    for span in (2, 1):
        if at + span <= len(words):
            status = STATUS_WORDS.get(_squeeze("".join(words[at:at + span])))
            if status is not None:
                return status, span
    return None


def _progress_at(words: list[str], at: int) -> tuple[int | None, int] | None:
    """(progress or None if out of range or not whole, words used) at words[at]; None if no
    number is there."""
    if at >= len(words):
        return None
    match = _PROGRESS.match(words[at])
    if match is None:
        return None
    used = 2 if at + 1 < len(words) and words[at + 1] == _PERCENT_ALONE else 1
    number = match.group(1)
    if not number.isdigit() or int(number) > 100:
        return None, used
    return int(number), used


def parse_report(rest: str) -> ReportText | ReportTextError:
    """Read what follows the PMC keyword."""
    words = rest.split()
    if not words:
        return ReportTextError(Problem.NO_CODE)
    code, at = words[0], 1
    progress: int | None = None
    status: ReportStatus | None = None
    for _ in range(2):  # progress then status, or status then progress
        found_status = status is None and _status_at(words, at)
        if found_status:
            status, used = found_status
            at += used
            continue
        found_progress = progress is None and _progress_at(words, at)
        if found_progress:
            value, used = found_progress
            if value is None:
                return ReportTextError(Problem.BAD_PROGRESS, code, words[at])
            progress = value
            at += used
            continue
        break
    if progress is None:
        typed = words[at] if at < len(words) else None
        return ReportTextError(Problem.BAD_PROGRESS if typed else Problem.NO_PROGRESS, code,
                               typed)
    if status is None:
        typed = words[at] if at < len(words) else None
        return ReportTextError(Problem.BAD_STATUS if typed else Problem.NO_STATUS, code, typed)
    return ReportText(code, progress, status, " ".join(words[at:])[:MAX_COMMENT])
