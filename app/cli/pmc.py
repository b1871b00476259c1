"""`baraza pmc ...`: PMC members, early-warning flags and reminders.

    baraza pmc import FILE --org CODE [--replace]
    baraza pmc flags --org CODE [--today YYYY-MM-DD] [--json]
    baraza pmc remind [--org CODE] [--today YYYY-MM-DD]

`import`: columns `project_code,phone,name,role` (rules in `app.pmc.member_import`). With
`--replace` the file is the whole PMC of each project it names; without, seats are only added
or updated. `flags` shows each project's early-warning flags (`app.pmc.early_warning`);
`remind` does by hand what the scheduled job does (`app.pmc.reminders`): safe to repeat.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from app.cli.lookups import organization_named
from app.cli.projects import read_text, refused
from app.db.base import utcnow
from app.pmc.early_warning import WarningRules
from app.pmc.imports import ImportRefused
from app.pmc.member_import import apply_members, read_members_csv
from app.pmc.projects import projects_of
from app.pmc.reminders import remind_organizations
from app.pmc.warnings import flags_by_project, local_today


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
        organization = organization_named(db, org_code)
        try:
            records = read_members_csv(db, organization, text)
            summary = apply_members(db, organization, records, replace=replace)
        except ImportRefused as exc:
            raise refused(source, exc) from exc
    projects = len({r.project.code for r in records})
    click.echo(f"{organization.code}: {len(records)} PMC members of {projects} projects "
               f"from {source.name}: {summary}")


def _iso_day(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date like 2026-03-02") from exc


TODAY = click.option("--today", callback=_iso_day, metavar="YYYY-MM-DD",
                     help="the day to judge by (default: today in the organization's zone)")


@group.command("flags")
@click.option("--org", "org_code", required=True, help="organization code, e.g. makueni")
@TODAY
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def flags(obj, org_code: str, today: date | None, as_json: bool) -> None:
    """Each project's early-warning flags: quiet, behind, trouble."""
    rules = WarningRules.from_settings(obj.runtime.settings)
    with obj.runtime.sessions() as db:
        organization = organization_named(db, org_code)
        day = today or local_today(organization, utcnow())
        found = flags_by_project(db, organization.id, day, rules)
        projects = [{"code": p.code, "name": p.name, "flags": [str(f) for f in found[p.id]]}
                    for p in projects_of(db, organization.id)]
    if as_json:
        click.echo(json.dumps({"organization": organization.code, "today": day.isoformat(),
                               "projects": projects}, ensure_ascii=False, indent=2))
        return
    for project in projects:
        click.echo(f"{project['code']:<20} {', '.join(project['flags']) or '-'}")


@group.command("remind")
@click.option("--org", "org_code", help="only this organization (default: every one)")
@TODAY
@click.pass_obj
def remind(obj, org_code: str | None, today: date | None) -> None:
    """Send reminder SMS to the PMC members of quiet projects (at most one a week each)."""
    runtime = obj.runtime
    if org_code is not None:
        with runtime.sessions() as db:
            organization_named(db, org_code)
    sent = remind_organizations(runtime.sessions, runtime.catalogs.gettext_for,
                                runtime.dispatcher, WarningRules.from_settings(runtime.settings),
                                utcnow(), org_code=org_code, today=today)
    for code, count in sent.items():
        click.echo(f"{code}: {count} reminder{'s' * (count != 1)} queued")


def register(main: click.Group) -> None:
    main.add_command(group)
