"""A projects file as a county has it: the projects CSV, an OCDS or an OC4IDS package.

One reader for the command line (`baraza projects import`) and the console's upload, so both
accept exactly the same files and refuse them with the same problems. `auto` reads JSON when the
text starts with `{` and tells OCDS from OC4IDS by its top-level keys; anything else is the CSV.
"""

from __future__ import annotations

import json

from app.db.models import Organization
from app.pmc.imports import ImportRefused, Problem, ProjectRecord, WardIndex, read_projects_csv
from app.pmc.ocds import read_open_contracting

FORMATS = ("auto", "csv", "ocds", "oc4ids")


def decode(data: bytes) -> str:
    """The text of an uploaded file (UTF-8, with or without a byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused([Problem("file", f"not UTF-8 text ({exc.reason}); save it as "
                                             "CSV UTF-8 or JSON")]) from None


def read_projects_file(text: str, fmt: str, organization: Organization,
                       wards: WardIndex) -> list[ProjectRecord]:
    """The file's projects as records, or ImportRefused listing every problem."""
    if fmt not in FORMATS:
        raise ImportRefused([Problem("file", f"unknown format {fmt!r} "
                                             f"(one of {', '.join(FORMATS)})")])
    if fmt == "csv" or (fmt == "auto" and not text.lstrip().startswith("{")):
        return read_projects_csv(text, wards.code)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused([Problem(f"line {exc.lineno}", f"not JSON: {exc.msg}")]) from exc
    return read_open_contracting(data, organization.currency, organization.timezone,
                                 None if fmt == "auto" else fmt)
