"""Real-browser test support: the app behind a real HTTP server, and Debian's chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser, Playwright
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("BARAZA_CHROMIUM", "/usr/bin/chromium"))
# Debian's chromium, not a downloaded build: quiet, headless, and no network of its own.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve `app` on a free port of 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-test-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()  # returns once serve_forever has stopped
        thread.join()
        server.server_close()


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium "
                           "(make test does) or set BARAZA_CHROMIUM")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
