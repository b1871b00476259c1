"""`baraza demo seed [--if-empty]`."""

from __future__ import annotations

from pathlib import Path

import click

from app.services.demo import has_organizations, seed_demo
from app.settings import ROOT

WARDS_CSV = ROOT.parent / "shared" / "data" / "kenya_wards.csv"


@click.group("demo")
def group() -> None:
    """Demonstration data."""


@group.command("seed")
@click.option("--if-empty", is_flag=True, help="do nothing when organizations exist")
@click.option("--wards", type=click.Path(dir_okay=False, path_type=Path), default=WARDS_CSV,
              show_default=True, help="IEBC wards CSV")
@click.pass_obj
def seed(obj, if_empty: bool, wards: Path) -> None:
    """Create Makueni and Nandi with their wards, demo logins and demo residents."""
    with obj.runtime.sessions.begin() as db:
        if has_organizations(db):
            if if_empty:
                click.echo("demo: organizations exist already; nothing seeded")
                return
            raise click.ClickException("organizations exist already; seed an empty database")
        if not wards.exists():
            click.echo(f"demo: {wards} not found; organizations get no wards", err=True)
        logins = seed_demo(db, wards)
    click.echo("demo: seeded makueni (USSD *483*1#, SMS 40014) and nandi (USSD *483*2#, "
               "SMS 1548, voice 1548), each with a demo budget vote open county-wide; "
               "makueni has demo projects DEMO1-DEMO3 with PMC members +254700000201-204")
    click.echo("demo logins (shown once; passwords are not stored in clear):")
    for login in logins:
        click.echo(f"  {login.organization:8} {login.role:9} {login.email:24} {login.password}")


def register(main: click.Group) -> None:
    main.add_command(group)
