"""`baraza`: the command line. One module per command group, registered here."""

from __future__ import annotations

import logging

import click

from app.cli import db, demo, flows, pb, places, pmc, projects, serve, simulate, users
from app.runtime import Runtime, build_runtime
from app.settings import load_settings


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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Context()


for module in (db, demo, flows, pb, places, pmc, projects, serve, simulate, users):
    module.register(main)
