"""Turnout of a cycle by place, gender, age band and disability, with small cells hidden.

What is counted: `participations` (one row per contact who cast a ballot by USSD or SMS;
never linked to a ballot), joined to the contact's ward (`contacts.ward_id`, set when a
phone-keyed voter named their ward; "Not known or elsewhere" when unset, as in national-ID
cycles, or outside the cycle's place) and to the optional `voter_profiles` answers. Paper
ballots have no participation, so turnout can be lower than the ballots counted. VoterPlace is
not used: it is keyed by a tag that, by design, cannot be joined to a contact.

Each dimension is a one-way table whose cells add up to the same shown total (a "Not answered"
or "Not known or elsewhere" cell keeps the partition whole). No cross-tables: crossing
dimensions makes small cells, and linked tables let one be worked out from another.

Suppression, per table (`suppress`):
1. Primary: every cell under 5, zero included, shows "<5".
2. Complementary: the total is public (and equals the sum of each table), so one hidden cell
   could be backed out as total minus the shown cells. When any cell is hidden, the smallest
   shown cells are hidden too ("hidden") until the hidden cells include at least one that is
   not small and together hold at least 4 more than 5 per such cell. Then total minus shown
   cells fits every hidden small cell being anything from 0 to 4: nothing is learnt beyond
   "<5", even by someone who knows the rule and that "hidden" cells hold 5 or more.
3. If even hiding every cell cannot meet that, the table shows no cell at all ("hidden"
   everywhere, small ones included), only the total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Contact, Cycle, Participation, Place, VoterProfile

THRESHOLD = 5
NOT_ANSWERED = "Not answered"
UNKNOWN_PLACE = "Not known or elsewhere"

GENDERS = (("female", "Female"), ("male", "Male"), ("other", "Other"))
AGE_BANDS = (("under18", "Under 18"), ("18-24", "18-24"), ("25-34", "25-34"),
             ("35-49", "35-49"), ("50-64", "50-64"), ("65+", "65 or over"))
DISABILITY = (("yes", "Yes: a lot of difficulty, or unable"), ("no", "No"))


class Shown(StrEnum):
    COUNT = "count"
    SMALL = "small"  # under the threshold: "<5"
    HIDDEN = "hidden"  # not small, hidden so that a small cell cannot be worked out


@dataclass(frozen=True)
class Cell:
    label: str
    shown: Shown
    count: int | None = None  # only when shown: a hidden count never leaves this module

    @property
    def text(self) -> str:
        if self.shown == Shown.COUNT:
            return str(self.count)
        return f"<{THRESHOLD}" if self.shown == Shown.SMALL else "hidden"


@dataclass(frozen=True)
class Table:
    title: str
    cells: tuple[Cell, ...]
    total: int


@dataclass(frozen=True)
class Turnout:
    total: int
    tables: tuple[Table, ...]


def suppress(counts: Sequence[tuple[str, int]], threshold: int = THRESHOLD) -> tuple[Cell, ...]:
    """The cells of one table, small ones and their complements hidden (see the module)."""
    small = {i for i, (_, n) in enumerate(counts) if n < threshold}
    if not small:
        return tuple(Cell(label, Shown.COUNT, n) for label, n in counts)
    hidden = set(small)
    candidates = sorted((n, i) for i, (_, n) in enumerate(counts) if i not in small)
    for _, i in candidates:
        if _safe(counts, small, hidden, threshold):
            break
        hidden.add(i)
    if not _safe(counts, small, hidden, threshold):
        return tuple(Cell(label, Shown.HIDDEN) for label, _ in counts)
    return tuple(Cell(label, Shown.SMALL) if i in small else
                 Cell(label, Shown.HIDDEN) if i in hidden else Cell(label, Shown.COUNT, n)
                 for i, (label, n) in enumerate(counts))


def _safe(counts: Sequence[tuple[str, int]], small: set[int], hidden: set[int],
          threshold: int) -> bool:
    """Hidden sum minus the least the big hidden cells can hold leaves room for a full range."""
    big = len(hidden - small)
    slack = sum(counts[i][1] for i in hidden) - threshold * big
    return big >= 1 and slack >= threshold - 1


def table(title: str, counts: Sequence[tuple[str, int]]) -> Table:
    return Table(title, suppress(counts), sum(n for _, n in counts))


def turnout_of(db: Session, cycle: Cycle) -> Turnout:
    """Participations of the cycle, one suppressed table per dimension."""
    rows = db.execute(
        select(Contact.ward_id, VoterProfile.gender, VoterProfile.age_band,
               VoterProfile.disability)
        .select_from(Participation)
        .join(Contact, Contact.id == Participation.contact_id)
        .outerjoin(VoterProfile, VoterProfile.contact_id == Contact.id)
        .where(Participation.cycle_id == cycle.id)).all()
    wards = wards_under(db, cycle.place)
    tables = (
        table("Place", _place_counts(wards, [r[0] for r in rows])),
        table("Gender", _answer_counts(GENDERS, [r[1] for r in rows])),
        table("Age band", _answer_counts(AGE_BANDS, [r[2] for r in rows])),
        table("Disability (Washington Group short question)",
              _answer_counts(DISABILITY, [r[3] for r in rows])),
    )
    return Turnout(len(rows), tables)


def wards_under(db: Session, place: Place) -> list[Place]:
    """The wards a cycle's place covers: itself if a ward, else its descendants that are."""
    places = list(db.scalars(select(Place).where(
        Place.organization_id == place.organization_id)))
    children: dict[int | None, list[Place]] = {}
    for p in places:
        children.setdefault(p.parent_id, []).append(p)
    found, stack, seen = [], [place], set()
    while stack:
        current = stack.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        kids = children.get(current.id, [])
        if not kids or current.kind == "ward":
            found.append(current)
        stack.extend(kids)
    return sorted(found, key=lambda p: (p.name, p.code))


def _place_counts(wards: Iterable[Place], ward_ids: Sequence[int | None]) -> list[tuple[str, int]]:
    tally = Counter(ward_ids)
    known = [(f"{w.name} ({w.code})", tally.pop(w.id, 0)) for w in wards]
    return [*known, (UNKNOWN_PLACE, sum(tally.values()))]


def _answer_counts(options: Iterable[tuple[str, str]],
                   answers: Sequence[str | None]) -> list[tuple[str, int]]:
    tally = Counter(answers)
    known = [(label, tally.pop(value, 0)) for value, label in options]
    return [*known, (NOT_ANSWERED, sum(tally.values()))]
