"""Projects in bulk: the projects CSV, and applying project records from any source.

The CSV has a header and one project per line:

    code,name,ward_code,department,contractor,contract_value,amount_paid,start_date,end_date,status

- `code` (required): what people type in SMS; letters, digits and inner hyphens, at most 20;
  stored in upper case. A code seen before updates that project (re-importing is safe).
- `name` (required, at most 200 characters).
- `ward_code`: IEBC code of a ward of the organization ("0416"; leading zeros may be lost by a
  spreadsheet: "416" finds it too). Several wards separated by `;` or `|` ("0416;0417").
  Empty: a county-wide project (a warning: residents will not find it under their ward).
- `department`, `contractor`: text (at most 120 and 200 characters), may be empty.
- `contract_value`, `amount_paid`: whole units of the organization's currency, like cycle
  budgets; thousands separators (`1,250,000`) and a zero fraction (`.00`) are accepted.
  Empty contract value: not known yet; empty amount paid: 0. Paid over the value is a warning.
- `start_date`, `end_date`: ISO dates (2025-07-01), may be empty; the end not before the start.
- `status`: planned, ongoing, stalled, completed or cancelled (any case; the OC4IDS codes
  identification/preparation/implementation/completion are understood too); empty: planned.

Every line is checked before anything is written: one bad line and nothing is imported, and
every problem is reported with its line number. Open Contracting files become the same records
(`app.pmc.ocds`) and go through the same `apply_projects`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.base import utcnow
from app.db.models import Organization, Place, Project, ProjectStatus
from app.pmc.projects import InvalidProjectCode, normalise_code

PROJECT_COLUMNS = ("code", "name", "ward_code", "department", "contractor", "contract_value",
                   "amount_paid", "start_date", "end_date", "status")
MAX_NAME, MAX_DEPARTMENT, MAX_CONTRACTOR = 200, 120, 200
WARD_SEPARATORS = re.compile(r"[;|]")
STATUS_WORDS = {
    **{s.value: s for s in ProjectStatus},
    "complete": ProjectStatus.COMPLETED,
    "canceled": ProjectStatus.CANCELLED,
    # OC4IDS projectStatus codes, as `app.pmc.ocds` maps them
    "identification": ProjectStatus.PLANNED,
    "preparation": ProjectStatus.PLANNED,
    "implementation": ProjectStatus.ONGOING,
    "completion": ProjectStatus.COMPLETED,
}


@dataclass(frozen=True)
class Problem:
    where: str  # "line 4", "releases[2] (ocds-...)"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ImportRefused(ValueError):
    """The file has problems; nothing was written. `problems` says where and what."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0  # PMC seats only
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.deactivated} deactivated" if self.deactivated else "")


@dataclass(frozen=True)
class ProjectRecord:
    """One project as a source describes it, before it meets the database."""

    where: str
    name: str
    code: str | None = None  # None: Open Contracting data; matched by its ids, else numbered
    ward_codes: tuple[str, ...] = ()  # must all be wards of the organization
    ward_hints: tuple[str, ...] = ()  # codes or names that may be wards (Open Contracting)
    department: str | None = None
    contractor: str | None = None
    contract_value: int | None = None
    amount_paid: int | None = None  # None: keep what we have (0 for a new project)
    start_date: date | None = None
    end_date: date | None = None
    status: ProjectStatus = ProjectStatus.PLANNED
    ocid: str | None = None
    oc4ids_id: str | None = None
    warnings: tuple[str, ...] = field(default=())


# ---- reading the CSV ----------------------------------------------------------------------


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header is line 1. A file the csv module cannot
    read (a field over its size limit, a quote left open) is refused at the line it fails on."""
    reader = csv.DictReader(io.StringIO(text))
    with _unreadable_refused(reader):
        for row in reader:
            yield reader.line_num, {(k or "").strip().lower(): (v or "") for k, v in row.items()}


def header_of(text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text))
    with _unreadable_refused(reader):
        first = next(reader, [])
    return [c.strip().lower() for c in first]


@contextmanager
def _unreadable_refused(reader) -> Iterator[None]:
    try:
        yield
    except csv.Error as error:
        raise ImportRefused([Problem(f"line {reader.line_num + 1}",
                                     f"not readable as CSV ({error})")]) from None


def read_projects_csv(text: str,
                      find_ward: Callable[[str], object | None] | None = None
                      ) -> list[ProjectRecord]:
    """Every row as a record, or ImportRefused listing every bad line.

    With `find_ward` (e.g. `WardIndex.code`), unknown ward codes are reported on their line
    together with everything else; `apply_projects` checks them again in any case.
    """
    header = header_of(text)
    missing = [c for c in PROJECT_COLUMNS if c not in header]
    if missing:
        raise ImportRefused([Problem("line 1", f"missing columns: {', '.join(missing)} "
                                               f"(expected {','.join(PROJECT_COLUMNS)})")])
    records, problems, seen = [], [], {}
    for line, row in csv_rows(text):
        if not any(v.strip() for v in row.values()):
            continue
        where = f"line {line}"
        errors: list[str] = []
        record = _project_row(where, row, errors, find_ward)
        if record is not None and record.code in seen:
            errors.append(f"code {record.code} is also on line {seen[record.code]}")
        problems.extend(Problem(where, e) for e in errors)
        if record is not None and not errors:
            seen[record.code] = line
            records.append(record)
    if problems:
        raise ImportRefused(problems)
    if not records:
        raise ImportRefused([Problem("line 2", "no projects in the file")])
    return records


def _project_row(where: str, row: Mapping[str, str], errors: list[str],
                 find_ward: Callable[[str], object | None] | None) -> ProjectRecord | None:
    def take(parse, column: str, *args):
        try:
            return parse(row.get(column, ""), *args)
        except ValueError as exc:
            errors.append(f"{column}: {exc}")
            return None

    code = take(_code, "code")
    name = take(text_field, "name", MAX_NAME, True)
    department = take(text_field, "department", MAX_DEPARTMENT, False)
    contractor = take(text_field, "contractor", MAX_CONTRACTOR, False)
    value = take(parse_amount, "contract_value")
    paid = take(parse_amount, "amount_paid")
    start, end = take(parse_date, "start_date"), take(parse_date, "end_date")
    status = take(parse_status, "status")
    wards = tuple(c.strip() for c in WARD_SEPARATORS.split(row.get("ward_code", ""))
                  if c.strip())
    if find_ward is not None:
        errors += [f"ward_code: no ward {ward!r} in this organization"
                   for ward in wards if find_ward(ward) is None]
    if start and end and end < start:
        errors.append(f"end_date {end} is before start_date {start}")
    if errors:
        return None
    warnings = []
    if not wards:
        warnings.append(f"{where}: {code} has no ward (residents will not find it by ward)")
    if value is not None and paid and paid > value:
        warnings.append(f"{where}: {code} amount_paid {paid} is more than contract_value {value}")
    return ProjectRecord(where=where, code=code, name=name, ward_codes=wards,
                         department=department, contractor=contractor, contract_value=value,
                         amount_paid=paid or 0, start_date=start, end_date=end, status=status,
                         warnings=tuple(warnings))


def _code(text: str) -> str:
    if not text.strip():
        raise ValueError("required")
    try:
        return normalise_code(text)
    except InvalidProjectCode as exc:
        raise ValueError(str(exc)) from None


def text_field(text: str, limit: int, required: bool) -> str | None:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        if required:
            raise ValueError("required")
        return None
    if len(cleaned) > limit:
        raise ValueError(f"longer than {limit} characters")
    return cleaned


def parse_amount(text: str) -> int | None:
    """Whole currency units: "1250000", "1,250,000", "1 250 000.00"; empty is None."""
    cleaned = re.sub(r"[,_\s\u00a0\u202f]", "", text or "")
    if not cleaned:
        return None
    whole, dot, fraction = cleaned.partition(".")
    if not whole.isdigit() or (dot and not fraction.isdigit()):
        raise ValueError(f"{text.strip()!r} is not an amount (whole units, e.g. 1250000)")
    if fraction.strip("0"):
        raise ValueError(f"{text.strip()!r} has a fraction; amounts are whole units")
    return int(whole)


def parse_date(text: str) -> date | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        raise ValueError(f"{cleaned!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{cleaned!r} is not a date") from None


def parse_status(text: str) -> ProjectStatus:
    cleaned = (text or "").strip().lower()
    if not cleaned:
        return ProjectStatus.PLANNED
    if cleaned not in STATUS_WORDS:
        raise ValueError(f"{text.strip()!r} is not one of "
                         f"{', '.join(s.value for s in ProjectStatus)}")
    return STATUS_WORDS[cleaned]


# ---- applying records ---------------------------------------------------------------------


class WardIndex:
    """The organization's wards by code (leading zeros ignored) and by name (any case)."""

    def __init__(self, db: Session, organization_id: int) -> None:
        wards = db.scalars(select(Place).where(Place.organization_id == organization_id,
                                               Place.kind == "ward")).all()
        self.by_code = {_bare(w.code): w for w in wards}
        self.by_name = {w.name.casefold(): w for w in wards}

    def code(self, code: str) -> Place | None:
        return self.by_code.get(_bare(code))

    def hint(self, hint: str) -> Place | None:
        return self.code(hint) or self.by_name.get(" ".join(hint.split()).casefold())


def _bare(code: str) -> str:
    code = code.strip()
    return (code.lstrip("0") or "0") if code.isdigit() else code.casefold()


def apply_projects(db: Session, organization: Organization,
                   records: Iterable[ProjectRecord]) -> ImportSummary:
    """Create or update a project per record; all or nothing (ImportRefused)."""
    records = list(records)
    existing = list(db.scalars(select(Project)
                               .where(Project.organization_id == organization.id)
                               .options(selectinload(Project.wards))))
    wards = WardIndex(db, organization.id)
    plan, problems, warnings = [], [], []
    claimed: dict[tuple[str, str], str] = {}  # (attribute, value) -> where, within this file
    for record in records:
        target = _match(existing, record)
        chosen = _wards_for(record, wards, problems, warnings)
        problems.extend(_conflicts(existing, record, target))
        for attribute in ("code", "ocid", "oc4ids_id"):
            key = (attribute, getattr(record, attribute))
            if key[1] and key in claimed:
                problems.append(Problem(record.where, f"{attribute} {key[1]} is also in "
                                                      f"{claimed[key]}"))
            elif key[1]:
                claimed[key] = record.where
        plan.append((record, target, chosen))
        warnings.extend(record.warnings)
    if problems:
        raise ImportRefused(problems)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    next_code = _next_number(existing)
    for record, target, chosen in plan:
        if target is None:
            code = record.code or str(next(next_code))
            target = Project(organization_id=organization.id, code=code, amount_paid=0)
            db.add(target)
            existing.append(target)
            counts["created"] += 1
            _update(target, record, chosen)
        else:
            counts["updated" if _update(target, record, chosen) else "unchanged"] += 1
    db.flush()
    return ImportSummary(**counts, warnings=tuple(warnings))


def _match(existing: list[Project], record: ProjectRecord) -> Project | None:
    for attribute in ("oc4ids_id", "ocid", "code"):
        wanted = getattr(record, attribute)
        if wanted:
            for project in existing:
                if getattr(project, attribute) == wanted:
                    return project
    return None


def _wards_for(record: ProjectRecord, wards: WardIndex, problems: list[Problem],
               warnings: list[str]) -> list[Place]:
    chosen: dict[int, Place] = {}
    for code in record.ward_codes:
        place = wards.code(code)
        if place is None:
            problems.append(Problem(record.where, f"ward_code: no ward {code!r} in this "
                                                  "organization"))
        else:
            chosen[place.id] = place
    for hint in record.ward_hints:
        place = wards.hint(hint)
        if place is not None:
            chosen[place.id] = place
    if record.ward_hints and not chosen:
        warnings.append(f"{record.where}: no ward of this organization among its locations "
                        f"({', '.join(record.ward_hints)})")
    return list(chosen.values())


def _conflicts(existing: list[Project], record: ProjectRecord,
               target: Project | None) -> Iterator[Problem]:
    # An external id we would add that is already on another project breaks its unique key.
    for attribute in ("ocid", "oc4ids_id"):
        wanted = getattr(record, attribute)
        if target is not None and getattr(target, attribute) is not None:
            continue  # kept as it is (`_update` never replaces an external id)
        owner = next((p for p in existing if wanted and getattr(p, attribute) == wanted), None)
        if owner is not None and owner is not target:
            yield Problem(record.where, f"{attribute} {wanted} belongs to project {owner.code}")


def _next_number(existing: list[Project]) -> Iterator[int]:
    """Codes for new Open Contracting projects: numbers after the largest numeric code."""
    number = max((int(p.code) for p in existing if p.code.isdigit()), default=0)
    taken = {p.code for p in existing}
    while True:
        number += 1
        if str(number) not in taken:
            yield number


def _update(project: Project, record: ProjectRecord, wards: list[Place]) -> bool:
    """Copy the record onto the project; True when anything changed."""
    values = {"name": record.name, "department": record.department,
              "contractor": record.contractor, "contract_value": record.contract_value,
              "start_date": record.start_date, "end_date": record.end_date,
              "status": record.status}
    if record.amount_paid is not None:
        values["amount_paid"] = record.amount_paid
    for attribute in ("ocid", "oc4ids_id"):
        if getattr(record, attribute) and getattr(project, attribute) is None:
            values[attribute] = getattr(record, attribute)
    changed = {k: v for k, v in values.items() if getattr(project, k) != v}
    for key, value in changed.items():
        setattr(project, key, value)
    new_wards = sorted(wards, key=lambda w: w.id)
    if {w.id for w in project.wards} != {w.id for w in new_wards}:
        project.wards = new_wards
        if project.id is not None and not changed:
            project.updated_at = utcnow()
        changed["wards"] = new_wards
    return bool(changed)


