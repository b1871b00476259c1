"""`baraza projects import FILE --org CODE [--format auto|csv|ocds|oc4ids]`.

FILE is a projects CSV (columns and rules in `app.pmc.imports`), an OCDS release or record
package, or an OC4IDS project package (JSON; how fields map in `app.pmc.ocds`). `auto` reads
JSON when the file starts with `{`, and tells OCDS from OC4IDS by its top-level keys.
Every record is checked first: with any problem, each is printed and nothing is imported.
"""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.lookups import organization_named
from app.pmc.imports import ImportRefused, WardIndex, apply_projects
from app.pmc.project_files import FORMATS, read_projects_file


@click.group("projects")
def group() -> None:
    """County projects followed by PMCs and residents."""


@group.command("import")
@click.argument("source", metavar="FILE",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="organization code, e.g. makueni")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="csv, ocds (release/record package), oc4ids (project package)")
@click.pass_obj
def import_(obj, source: Path, org_code: str, fmt: str) -> None:
    """Create or update projects (by code, or by OCDS ocid / OC4IDS id) from a file."""
    text = read_text(source)
    with obj.runtime.sessions.begin() as db:
        organization = organization_named(db, org_code)
        try:
            records = read_projects_file(text, fmt, organization,
                                         WardIndex(db, organization.id))
            summary = apply_projects(db, organization, records)
        except ImportRefused as exc:
            raise refused(source, exc) from exc
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{organization.code}: {len(records)} projects from {source.name}: {summary}")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text ({exc.reason})") from exc


def refused(path: Path, exc: ImportRefused) -> click.ClickException:
    count = len(exc.problems)
    lines = "\n".join(f"  {problem}" for problem in exc.problems)
    return click.ClickException(f"{path.name}: {count} problem{'s' * (count != 1)}, "
                                f"nothing imported:\n{lines}")


def register(main: click.Group) -> None:
    main.add_command(group)
