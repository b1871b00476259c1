"""`baraza pmc import FILE --org CODE [--replace]`: PMC members from a CSV.

Columns `project_code,phone,name,role` (rules in `app.pmc.member_import`). With `--replace`
the file is the whole PMC of each project it names; without, seats are only added or updated.
"""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.projects import read_text, refused
from app.pmc.imports import ImportRefused
from app.pmc.member_import import apply_members, read_members_csv
from app.services.organizations import organization_by_code


@click.group("pmc")
def group() -> None:
    """Project Management Committees."""


@group.command("import")
@click.argument("source", metavar="FILE",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="organization code, e.g. makueni")
@click.option("--replace", is_flag=True,
              help="deactivate members of the named projects who are not in the file")
@click.pass_obj
def import_(obj, source: Path, org_code: str, replace: bool) -> None:
    """Seat PMC members (phones read in the organization's country) on projects."""
    text = read_text(source)
    with obj.runtime.sessions.begin() as db:
        organization = organization_by_code(db, org_code)
        if organization is None:
            raise click.ClickException(f"no organization with code {org_code!r}")
        try:
            records = read_members_csv(db, organization, text)
            summary = apply_members(db, organization, records, replace=replace)
        except ImportRefused as exc:
            raise refused(source, exc) from exc
    projects = len({r.project.code for r in records})
    click.echo(f"{organization.code}: {len(records)} PMC members of {projects} projects "
               f"from {source.name}: {summary}")


def register(main: click.Group) -> None:
    main.add_command(group)
