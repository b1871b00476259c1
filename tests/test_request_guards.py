"""Guards every browser-facing route has, driven by app.url_map so a new route is covered the
day it is added: a post without a CSRF token is refused, and so is a NUL in any query or form
value (PostgreSQL cannot store one: app/web/form_guard.py). AT's callbacks are
the only exemption (AT posts plain forms; the long token in their URL guards them, see
tests/test_fuzz_at_endpoints.py), each named: a route added to their blueprints fails here
until it is.
"""

from __future__ import annotations

import pytest

from tests.console_support import add_counties_with_places, add_user, csrf_token, filled, log_in

CALLBACKS = {"at.ussd_hop", "at.ussd_session_ended", "at.sms_received",
             "at.sms_delivery_report", "at.sms_opted_out", "at_voice.voice_call"}


def post_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]


def path_of(rule) -> str:
    # The token is checked before the view runs: any id will do, and "makueni" exists.
    return filled(rule, {name: "makueni" if name in ("code", "org_code") else 1
                         for name in rule.arguments})


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties_with_places(runtime)


@pytest.mark.parametrize("who", ["stranger", "admin", "approver"])
def test_every_post_route_but_the_callbacks_refuses_a_missing_token(client, app, runtime, who):
    if who != "stranger":
        assert log_in(client, add_user(runtime, who)).status_code == 302
    checked = []
    for rule in post_rules(app):
        if rule.endpoint in CALLBACKS:
            continue
        response = client.post(path_of(rule), data={"name": "x", "action": "cancel"})
        assert response.status_code == 400, (rule.endpoint, response.status_code)
        checked.append(rule.endpoint)
    assert "console.login" in checked and "public_results.cycle_results" in checked


@pytest.mark.parametrize("who", ["stranger", "admin", "approver"])
def test_every_route_but_the_callbacks_refuses_a_nul_in_the_path_query_or_form(
        client, app, runtime, who):
    if who != "stranger":
        assert log_in(client, add_user(runtime, who)).status_code == 302
    token = csrf_token(client, "/console/login" if who == "stranger" else "/console/")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in CALLBACKS or rule.endpoint.endswith("static"):
            continue
        path = path_of(rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            query = {"q": "Tuli\x00mani"} if method == "GET" else {}
            form = {"csrf_token": token, "name": "Tuli\x00mani"} if method == "POST" else None
            response = client.open(path, method=method, query_string=query, data=form)
            assert response.status_code == 400, (rule.endpoint, method, response.status_code)
            checked += 1
        if "<code>" in rule.rule or "<org_code>" in rule.rule:  # and in a path part
            path = path_of(rule).replace("makueni", "ma%00keni")
            for method in sorted(rule.methods & {"GET", "POST"}):
                form = {"csrf_token": token} if method == "POST" else None
                response = client.open(path, method=method, data=form)
                assert response.status_code == 400, (rule.endpoint, method, "path")
                checked += 1
    assert checked > 100
