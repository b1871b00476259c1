"""Editing one project's fields (the console), checked as strictly as the projects CSV.

The code is not edited: members and residents type it, and SMS sent before would point at
nothing. Everything else follows the CSV's rules (`app.pmc.imports`): name required, amounts in
whole units, ISO dates with the end not before the start, a known status, wards of this
organization. `apply_edit` returns what changed, old and new, for the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from app.db.base import utcnow
from app.db.models import Place, Project, ProjectStatus
from app.digits import whole_or_none
from app.pmc.imports import (
    MAX_CONTRACTOR,
    MAX_DEPARTMENT,
    MAX_NAME,
    parse_amount,
    parse_date,
    text_field,
)

FIELDS = ("name", "department", "contractor", "contract_value", "amount_paid", "start_date",
          "end_date", "status")


class EditRefused(ValueError):
    """Some fields cannot be read; `errors` maps each field to what to type instead."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


@dataclass(frozen=True)
class ProjectFields:
    name: str
    department: str | None
    contractor: str | None
    contract_value: int | None
    amount_paid: int
    start_date: date | None
    end_date: date | None
    status: ProjectStatus
    wards: tuple[Place, ...]


def read_edit(form: Mapping[str, str], ward_ids: Sequence[str],
              wards: Mapping[int, Place]) -> ProjectFields:
    """The form's values, or EditRefused naming every field that is wrong."""
    errors: dict[str, str] = {}

    def take(field: str, parse, *args):
        try:
            return parse(form.get(field, ""), *args)
        except ValueError as exc:
            errors[field] = str(exc)
            return None

    values = {
        "name": take("name", text_field, MAX_NAME, True),
        "department": take("department", text_field, MAX_DEPARTMENT, False),
        "contractor": take("contractor", text_field, MAX_CONTRACTOR, False),
        "contract_value": take("contract_value", parse_amount),
        "amount_paid": take("amount_paid", parse_amount),
        "start_date": take("start_date", parse_date),
        "end_date": take("end_date", parse_date),
        "status": take("status", _status),
    }
    start, end = values["start_date"], values["end_date"]
    if start and end and end < start:
        errors["end_date"] = f"the planned end {end} is before the start {start}"
    chosen = []
    for raw in ward_ids:
        ward = wards.get(whole_or_none(raw))
        if ward is None:
            errors["wards"] = "choose wards of this organization from the list"
        else:
            chosen.append(ward)
    if errors:
        raise EditRefused(errors)
    values["amount_paid"] = values["amount_paid"] or 0
    return ProjectFields(**values, wards=tuple(sorted(set(chosen), key=lambda w: w.name)))


def _status(text: str) -> ProjectStatus:
    try:
        return ProjectStatus((text or "").strip().lower())
    except ValueError:
        raise ValueError("choose a status from the list") from None


def apply_edit(project: Project, fields: ProjectFields) -> dict[str, tuple[object, object]]:
    """Copy the fields onto the project; returns {field: (before, after)} for what changed."""
    changed: dict[str, tuple[object, object]] = {}
    for name in FIELDS:
        before, after = getattr(project, name), getattr(fields, name)
        if before != after:
            changed[name] = (before, after)
            setattr(project, name, after)
    before_wards = sorted(w.code for w in project.wards)
    after_wards = sorted(w.code for w in fields.wards)
    if before_wards != after_wards:
        changed["wards"] = (before_wards, after_wards)
        project.wards = list(fields.wards)
        project.updated_at = utcnow()  # a change of wards alone touches no column
    return changed
