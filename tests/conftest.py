"""Fixtures: real PostgreSQL and Redis for the run, SQLite per test, apps built per stack.

Two stacks run every database test:
- "dev":  SQLite + sessions in process memory + sends in process (what `make run` uses);
- "prod": PostgreSQL + Redis sessions + rq queues (what production uses).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import text

from app.db import migrate
from app.db.base import Base
from app.db.session import make_engine
from app.runtime import Runtime, build_runtime
from app.settings import Settings
from app.web.factory import create_app
from tests import servers

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    _require_servers()
    with servers.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> Iterator[str]:
    _require_servers()
    with servers.postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)  # the real schema, made by the real migrations, once
        engine.dispose()
        yield url


def _require_servers() -> None:
    missing = servers.missing_server_programs()
    if missing:
        pytest.fail(f"install {', '.join(missing)} (make test does it) to run these tests")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["dev", "prod"])
def stack(request) -> str:
    return request.param


@pytest.fixture
def settings(stack, request, tmp_path, sqlite_template) -> Iterator[Settings]:
    if stack == "dev":
        db_file = tmp_path / "baraza.sqlite3"
        shutil.copy(sqlite_template, db_file)
        yield Settings(database_url=f"sqlite:///{db_file}", redis_url=None)
        return
    pg_url = request.getfixturevalue("postgres_url")
    r_url = request.getfixturevalue("redis_url")
    yield Settings(database_url=pg_url, redis_url=r_url)
    _wipe_postgres(pg_url)
    Redis.from_url(r_url).flushdb()


def _wipe_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def runtime(settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def app(runtime):
    app = create_app(runtime=runtime)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(runtime):
    with runtime.sessions() as session:
        yield session


@pytest.fixture
def fake_at():
    """A local AT-compatible server (tests/fake_at.py), the only fake in the suite."""
    from tests.fake_at import FakeAt

    with FakeAt() as server:
        yield server


@pytest.fixture
def at_settings(settings, fake_at) -> Settings:
    """The stack's settings with AT's SDK pointed at the local AT-compatible server (a module
    may override this fixture, e.g. to make batches smaller)."""
    return settings.with_overrides(at_username=fake_at.username, at_api_key=fake_at.api_key,
                                   at_api_url=fake_at.url)


@pytest.fixture
def at_runtime(at_settings) -> Iterator[Runtime]:
    """The production wiring sending to the local AT server; workers see it while it lives."""
    from workers.context import set_runtime

    runtime = build_runtime(at_settings)
    yield runtime
    set_runtime(None)
    runtime.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright, shared by every browser test of the run."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base_url: str):
    """A fresh browser context (no cookies) on the module's `base_url` fixture, per test."""
    context = browser.new_context(base_url=base_url)
    yield context.new_page()
    context.close()
