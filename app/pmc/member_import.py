"""PMC members in bulk, from a CSV with a header and one seat per line:

    project_code,phone,name,role

- `project_code`: a project of the organization (any case).
- `phone`: any way people write it ("0712 345 678", "+254712345678", "254712345678"); stored
  as E.164, read in the organization's country. One phone may sit on several PMCs, once each.
- `name`: the member's name (at most 120 characters).
- `role`: chair, secretary or member (Kiswahili mwenyekiti, katibu, mwanachama; any case);
  empty: member. A project has at most one active chair.

A seat seen before (same project and phone) is updated and made active again; importing the
same file twice changes nothing. With `replace`, the file is the whole PMC of every project it
names: seats of those projects that are not in the file are deactivated (kept, with their
reports). Every line is checked before anything is written; one bad line and nothing is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.db.models import Organization, PmcMember, PmcRole, Project
from app.pmc.imports import (
    ImportRefused,
    ImportSummary,
    Problem,
    csv_rows,
    header_of,
    text_field,
)
from app.pmc.members import find_or_add_contact
from app.pmc.projects import InvalidProjectCode, normalise_code

MEMBER_COLUMNS = ("project_code", "phone", "name", "role")
MAX_MEMBER_NAME = 120
ROLE_WORDS = {**{r.value: r for r in PmcRole}, "chairperson": PmcRole.CHAIR,
              "chairman": PmcRole.CHAIR, "mwenyekiti": PmcRole.CHAIR,
              "katibu": PmcRole.SECRETARY, "mwanachama": PmcRole.MEMBER}


@dataclass(frozen=True)
class MemberRecord:
    where: str
    project: Project
    msisdn: str
    name: str
    role: PmcRole


def read_members_csv(db: Session, organization: Organization, text: str) -> list[MemberRecord]:
    """Every row as a seat on a known project, or ImportRefused listing every bad line."""
    header = header_of(text)
    missing = [c for c in MEMBER_COLUMNS if c not in header]
    if missing:
        raise ImportRefused([Problem("line 1", f"missing columns: {', '.join(missing)} "
                                               f"(expected {','.join(MEMBER_COLUMNS)})")])
    projects = {p.code: p for p in db.scalars(
        select(Project).where(Project.organization_id == organization.id))}
    records, problems, seen, chairs = [], [], {}, {}
    for line, row in csv_rows(text):
        if not any(v.strip() for v in row.values()):
            continue
        where, errors = f"line {line}", []
        project = _project(row.get("project_code", ""), projects, errors)
        msisdn = _phone(row.get("phone", ""), organization.country, errors)
        name = None
        try:
            name = text_field(row.get("name", ""), MAX_MEMBER_NAME, True)
        except ValueError as exc:
            errors.append(f"name: {exc}")
        role = ROLE_WORDS.get(row.get("role", "").strip().lower() or "member")
        if role is None:
            errors.append(f"role: {row['role'].strip()!r} is not one of chair, secretary, member")
        if project is not None and msisdn is not None:
            key = (project.code, msisdn)
            if key in seen:
                errors.append(f"{msisdn} is on {project.code} already on line {seen[key]}")
            seen.setdefault(key, line)
        if project is not None and role == PmcRole.CHAIR:
            if project.code in chairs:
                errors.append(f"{project.code} has a chair already (line {chairs[project.code]})")
            chairs.setdefault(project.code, line)
        problems.extend(Problem(where, e) for e in errors)
        if not errors:
            records.append(MemberRecord(where, project, msisdn, name, role))
    if problems:
        raise ImportRefused(problems)
    if not records:
        raise ImportRefused([Problem("line 2", "no members in the file")])
    return records


def _project(text: str, projects: dict[str, Project], errors: list[str]) -> Project | None:
    try:
        code = normalise_code(text)
    except InvalidProjectCode as exc:
        errors.append(f"project_code: {exc}" if text.strip() else "project_code: required")
        return None
    if code not in projects:
        errors.append(f"project_code: no project {code} in this organization")
        return None
    return projects[code]


def _phone(text: str, country: str, errors: list[str]) -> str | None:
    try:
        return normalise_msisdn(text, country)
    except InvalidPhoneNumber as exc:
        errors.append(f"phone: {exc}")
        return None


def apply_members(db: Session, organization: Organization, records: Iterable[MemberRecord],
                  *, replace: bool = False) -> ImportSummary:
    """Create, update (and with `replace` deactivate) seats; all or nothing (ImportRefused)."""
    records = list(records)
    project_ids = {r.project.id for r in records}
    seats = {(s.project_id, s.contact.msisdn): s for s in db.scalars(
        select(PmcMember).where(PmcMember.project_id.in_(project_ids))
        .options(joinedload(PmcMember.contact)))}
    listed = {(r.project.id, r.msisdn) for r in records}
    dropped = [s for key, s in seats.items() if replace and key not in listed and s.active]
    problems = list(_two_chairs(records, seats, dropped))
    if problems:
        raise ImportRefused(problems)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deactivated": len(dropped)}
    for seat in dropped:
        seat.active = False
    for record in records:
        seat = seats.get((record.project.id, record.msisdn))
        if seat is None:
            contact = find_or_add_contact(db, organization.id, record.msisdn)
            contact.name = contact.name or record.name
            db.add(PmcMember(project_id=record.project.id, contact_id=contact.id,
                             name=record.name, role=record.role, active=True))
            counts["created"] += 1
        elif (seat.name, seat.role, seat.active) != (record.name, record.role, True):
            seat.name, seat.role, seat.active = record.name, record.role, True
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    db.flush()
    return ImportSummary(**counts)


def _two_chairs(records: list[MemberRecord], seats: dict, dropped: list[PmcMember]):
    """A chair in the file beside another active chair (in the file or already seated)."""
    file_chairs: dict[int, MemberRecord] = {}
    for record in records:
        if record.role != PmcRole.CHAIR:
            continue
        other = file_chairs.get(record.project.id)
        if other is not None:
            yield Problem(record.where, f"{record.project.code} has a chair already "
                                        f"({other.where})")
            continue
        file_chairs[record.project.id] = record
    listed = {(r.project.id, r.msisdn): r for r in records}
    for (project_id, msisdn), seat in seats.items():
        record = file_chairs.get(project_id)
        if (record is None or seat.role != PmcRole.CHAIR or not seat.active or seat in dropped
                or msisdn == record.msisdn):
            continue
        if (project_id, msisdn) not in listed:  # listed again: its new role is in the file
            yield Problem(record.where, f"{record.project.code} has an active chair already, "
                                        f"{seat.name} (import with --replace to change the PMC)")
