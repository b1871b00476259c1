"""/healthz, and the phone simulator in the terminal and on the web."""

from __future__ import annotations

from click.testing import CliRunner

from app.cli import main
from tests.factories import MAKUENI_USSD, add_counties


def test_healthz_reports_each_dependency(client, stack):
    response = client.get("/healthz")
    assert response.status_code == 200
    expected = {"database": "ok"} | ({"redis": "ok"} if stack == "prod" else {})
    assert response.get_json() == {"status": "ok", "checks": expected}


def test_healthz_says_when_the_database_is_down(client, runtime):
    from app.db.session import make_engine

    runtime.db = make_engine("sqlite:////nonexistent/dir/baraza.sqlite3")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "down"


def test_terminal_simulator_walks_a_session(runtime, monkeypatch):
    add_counties(runtime)
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    result = CliRunner().invoke(main, ["simulate", "ussd", "--phone", "0712345678", "--code",
                                       MAKUENI_USSD, "--input", "2", "--input", "1"])
    assert result.exit_code == 0, result.output
    screens = result.output.split("-" * 20)
    assert "Chagua lugha / Choose language" in screens[0]
    assert "1. Piga kura ya bajeti" in screens[1]
    assert "Upigaji kura wa bajeti bado haujafunguliwa" in screens[2]


def test_terminal_simulator_raw_mode_shows_the_prefix(runtime, monkeypatch):
    add_counties(runtime)
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    result = CliRunner().invoke(main, ["simulate", "ussd", "--phone", "+254712345678",
                                       "--code", "*000#", "--raw"])
    assert result.output.strip() == "'END This service code is not in use.'"
