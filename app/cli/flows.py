"""`baraza flows check`: validate every flow in every locale, as start-up does."""

from __future__ import annotations

import click

from app.engine import FlowError
from app.i18n import Catalogs
from app.runtime import load_checked_flows
from app.services.flow_host import build_capabilities
from app.settings import load_settings


@click.group("flows")
def group() -> None:
    """USSD flows."""


@group.command("check")
def check() -> None:
    """Load flows/*.yaml and report every problem as file:node."""
    settings = load_settings()
    catalogs = Catalogs(settings.locales_dir)
    try:
        flows = load_checked_flows(settings, catalogs, build_capabilities())
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from exc
    nodes = sum(len(f.nodes) for f in flows.values())
    click.echo(f"{len(flows)} flows, {nodes} nodes, languages {', '.join(catalogs.languages)}: "
               f"all screens within {settings.ussd_max_chars} characters")


def register(main: click.Group) -> None:
    main.add_command(group)
