"""`baraza places import FILE --org CODE --county NAME`."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from app.cli.lookups import organization_named
from app.services.places import PlaceImportError, import_kenya_wards


@click.group("places")
def group() -> None:
    """Counties, sub-counties and wards."""


@group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="organization code, e.g. makueni")
@click.option("--county", required=True, help="county name as in the file, e.g. Makueni")
@click.pass_obj
def import_(obj, csv_file: Path, org_code: str, county: str) -> None:
    """Import one county's sub-counties and wards (IEBC codes kept) from a CSV file."""
    with csv_file.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    with obj.runtime.sessions.begin() as db:
        organization = organization_named(db, org_code)
        try:
            summary = import_kenya_wards(db, organization.id, rows, county)
        except PlaceImportError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{county}: {summary}")


def register(main: click.Group) -> None:
    main.add_command(group)
