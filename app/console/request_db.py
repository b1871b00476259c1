"""One database session per request, closed (and so rolled back unless committed) at the end."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session


def db() -> Session:
    """This request's session; views call `db().commit()` after a change."""
    if "console_db" not in g:
        g.console_db = current_app.extensions["baraza"].sessions()
    return g.console_db


def _close(_exc: BaseException | None) -> None:
    session = g.pop("console_db", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
