"""Alembic is the only way the schema is made, and the models never drift from it."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, make_url, text

from app.db import migrate
from app.db.base import Base
from app.db.session import make_engine


def test_migrations_match_the_models(runtime):
    migrate.check(runtime.db)  # raises when a model change has no migration


def test_every_model_table_exists(runtime):
    tables = set(inspect(runtime.db).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def _fresh_database(stack: str, tmp_path, request) -> str:
    """An empty database of the stack's kind, apart from the one the other tests share."""
    if stack == "dev":
        return f"sqlite:///{tmp_path / 'migrating.sqlite3'}"
    url = make_url(request.getfixturevalue("postgres_url"))
    name = f"migrating_{tmp_path.name.lower().replace('-', '_')}"[:60]
    server = make_engine(url.render_as_string(hide_password=False))
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rows_an_older_worker_left_sending_go_back_to_the_queue(stack, tmp_path, request):
    """Migration 0012: `sending` rows never reached AT (a claim of the old pipeline), so they
    are queued again with the claim's attempt undone and due at once (the relay hands them on,
    as it did), or failed with their cancelled campaign; other rows keep their status."""
    engine = make_engine(_fresh_database(stack, tmp_path, request))
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection=connection), "0011_campaign_chain")
        connection.execute(text(
            "INSERT INTO organizations (id, code, name, country, currency, timezone, languages) "
            "VALUES (1, 'x', 'X', 'KE', 'KES', 'Africa/Nairobi', '[\"en\"]')"))
        connection.execute(text(
            "INSERT INTO campaigns (id, organization_id, name, status, audience, messages, "
            "recipient_count, materialised, created_at) VALUES (7, 1, 'Forum', 'cancelled', "
            "'{}', '{}', 1, true, CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO campaign_recipients (campaign_id, msisdn, language, state) "
            "VALUES (7, '+254712000001', 'en', 'dispatched')"))
        for status, attempts, campaign in (("sending", 1, None), ("calling", 1, None),
                                           ("queued", 2, None), ("sending", 1, 7)):
            connection.execute(text(
                "INSERT INTO outbox_messages (organization_id, msisdn, body, lane, status, "
                "attempts, campaign_id, created_at) VALUES (1, '+254712000001', 'Hi', "
                "'campaign', :status, :attempts, :campaign, CURRENT_TIMESTAMP)"),
                {"status": status, "attempts": attempts, "campaign": campaign})
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection=connection), "head")
        rows = connection.execute(text(
            "SELECT status, attempts, next_attempt_at IS NOT NULL FROM outbox_messages "
            "ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [("queued", 0, True), ("calling", 1, False),
                                                ("queued", 2, False), ("failed", 1, False)]
        assert "state" not in {c["name"] for c in inspect(connection).get_columns(
            "campaign_recipients")}
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "0011_campaign_chain")
    engine.dispose()
