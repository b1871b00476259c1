"""`baraza serve`: the development server, plus an rq worker when REDIS_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from app.settings import load_settings


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
def serve(host: str, port: int) -> None:
    """Run the gateway for development (use gunicorn in production)."""
    from app.services.outbox_housekeeping import start_housekeeping
    from app.web.factory import create_app, runtime_of

    settings = load_settings()
    worker = None
    if settings.redis_url:
        worker = subprocess.Popen([sys.executable, "-m", "workers"])
    base = f"http://{host}:{port}"
    click.echo(f"Baraza is running at {base}")
    click.echo(f"  phone simulator: {base}/simulator")
    click.echo(f"  console:         {base}/console/")
    click.echo("  worker:          " + ("rq worker started" if worker else "none (no REDIS_URL: "
                                                                        "work runs in process)"))
    app = create_app(settings)
    if worker is None:  # no cron either: the relay and sweeps run in this process
        start_housekeeping(runtime_of(app))
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        if worker is not None:
            worker.terminate()


def register(main: click.Group) -> None:
    main.add_command(serve)
