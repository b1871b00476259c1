"""Engines and sessions; the caller decides the URL, nothing is built at import time."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

CONNECT_TIMEOUT = 3  # seconds (libpq's connect_timeout; its least is 2)


def make_engine(url: str) -> Engine:
    """An engine with per-dialect settings that matter for correctness.

    hide_parameters: a database error's message would otherwise carry every bound value
    (complaint text, phone numbers) into whatever logs the exception.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre-ping: a connection that died with a restarted server is replaced, not handed out;
    # connect_timeout: a server that vanished from the network fails a request, not hangs it.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # the web app and a worker share the file
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
