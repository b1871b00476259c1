"""`baraza`: the command line. One module per command group, registered here."""

from __future__ import annotations

import os

import click

from app.cli import (
    db,
    demo,
    flows,
    pb,
    places,
    pmc,
    projects,
    serve,
    simulate,
    sms,
    tickets,
    users,
)
from app.logs import configure_logging
from app.runtime import Runtime, build_runtime
from app.settings import load_settings, log_format_of


class Context:
    """Builds the runtime only for commands that need it (flows check must work without a DB)."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = build_runtime(load_settings())
        return self._runtime


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Baraza: SMS/USSD/voice participation gateway."""
    configure_logging(log_format_of(os.environ))
    ctx.obj = Context()


for module in (db, demo, flows, pb, places, pmc, projects, serve, simulate, sms, tickets, users):
    module.register(main)
