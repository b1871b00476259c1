"""Settings from the environment: safe defaults in development, refusal in production."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings

PRODUCTION = {
    "BARAZA_ENV": "production",
    "SECRET_KEY": "a-long-random-secret",
    "BARAZA_CALLBACK_TOKEN": "another-long-secret",
    "BARAZA_BALLOT_KEY": "a-third-long-secret",
    "AT_USERNAME": "baraza",
    "AT_API_KEY": "key",
    "DATABASE_URL": "postgresql+psycopg://baraza@db/baraza",
    "REDIS_URL": "redis://cache:6379/0",
    "METRICS_TOKEN": "a-metrics-secret",
}


def test_development_needs_nothing():
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and settings.callback_token is None
    assert settings.ussd_max_chars == 160 and settings.simulator_enabled


def test_production_with_everything_starts():
    settings = load_settings(PRODUCTION)
    assert settings.is_production and not settings.simulator_enabled


@pytest.mark.parametrize("missing", sorted(set(PRODUCTION) - {"BARAZA_ENV"}))
def test_production_refuses_a_missing_secret(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(SettingsError, match="production needs"):
        load_settings(env)


def test_production_refuses_sqlite():
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings({**PRODUCTION, "DATABASE_URL": "sqlite:///x.db"})


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_bad_numbers_are_refused_clearly(value):
    with pytest.raises(SettingsError, match="USSD_MAX_CHARS"):
        load_settings({"USSD_MAX_CHARS": value})


def test_at_api_url_and_screen_limit_are_read():
    settings = load_settings({"AT_API_URL": "http://127.0.0.1:9/", "USSD_MAX_CHARS": "182"})
    assert settings.at_api_url == "http://127.0.0.1:9/" and settings.ussd_max_chars == 182
