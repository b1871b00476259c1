"""The console under hostile input: every page and every form, as each role, with hostile
query values and every field the console's own pages carry set to hostile text; and every
upload with hostile files. Whatever an officer pastes or uploads, or a forged request sends:
never a 5xx.

The field names are read from the pages as a browser would, so a new form's fields are fuzzed
the day it is added.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.db.models import Role
from tests.console_support import (
    add_counties_with_places,
    add_one_of_each,
    add_user,
    console_rules,
    csrf_token,
    filled,
    log_in,
)
from tests.test_fuzz_keywords import hostile_text

FUZZ = settings(max_examples=100, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FIELD = re.compile(r'name="([^"]+)"')
PLAUSIBLE = ["1", "0", "-1", "999999999999", "", "yes", "on", "approval", "cumulative",
             "voting", "closed", "accept", "reject", "pause", "resume", "cancel", "high",
             "resolved", "chair", "en", "sw", "0712345678", "+254712345678", "2026-11-22",
             "2026-11-22T10:00", "1.5M", "KES"]
value = st.one_of(hostile_text, st.sampled_from(PLAUSIBLE))


def console_paths(app, ids: dict[str, int]) -> list[tuple[str, str]]:
    """(method, path) of every console route, with Makueni's code and real ids."""
    return [(method, filled(rule, {**ids, "code": "makueni"}))
            for rule in console_rules(app)
            if rule.endpoint not in ("console.login", "console.logout")
            for method in sorted(rule.methods & {"GET", "POST"})]


def form_fields(client, paths: list[tuple[str, str]]) -> set[str]:
    """The name of every field on the pages the signed-in user is shown, but the token."""
    names = set()
    for method, path in paths:
        if method == "GET":
            page = client.get(path)
            assert page.status_code < 500, path
            names |= set(FIELD.findall(page.get_data(as_text=True)))
    return names - {"csrf_token"}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_console_route_answers_hostile_input_without_a_5xx(client, app, runtime,
                                                                 monkeypatch, role):
    add_counties_with_places(runtime)
    paths = console_paths(app, add_one_of_each(runtime, monkeypatch))
    assert log_in(client, add_user(runtime, role)).status_code == 302
    names = form_fields(client, paths)  # the fields of every form this role is shown
    assert names, "no form fields found: the test would prove nothing"
    token = csrf_token(client, "/console/")

    @FUZZ
    @given(st.sampled_from(paths), st.dictionaries(st.sampled_from(sorted(names)), value))
    def check(route, fields):
        method, path = route
        response = (client.get(path, query_string=fields) if method == "GET"
                    else client.post(path, data={**fields, "csrf_token": token}))
        assert response.status_code < 500, (method, path, fields, response.status_code)

    check()


UPLOADS = {  # path under the organization, the file field, other fields
    "projects/import/projects": ("file", {"format": "auto"}),
    "projects/import/members": ("file", {}),
    "campaigns/new": ("numbers", {"name": "Forum", "everyone": "yes", "message_en": "Hi"}),
}
FILES = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=300).map(str.encode),
    st.sampled_from([
        b"code,name\x00\nx,y\n", b"\xff\xfe\x00a\x00b", b"\x00" * 100,
        "code,name\n".encode("utf-16"), b'"a quote left open\n,,,\n', b"\x89PNG\r\n\x1a\n\x00",
        b"phone\n0712345678\x00\n", b"\xef\xbb\xbfcode,name,ward_code\nMK-1,\x00x,0411\n"]),
)


@pytest.mark.parametrize("target", sorted(UPLOADS))
def test_hostile_uploads_are_refused_or_read_never_a_5xx(client, runtime, target):
    add_counties_with_places(runtime)
    assert log_in(client, add_user(runtime, "officer")).status_code == 302
    token = csrf_token(client, "/console/orgs/makueni/projects/import")
    field, fields = UPLOADS[target]

    @FUZZ
    @given(FILES)
    @example(b"a" * 200_000)  # one field over the csv module's limit: was a 500
    def check(content):
        response = client.post(f"/console/orgs/makueni/{target}",
                               data={"csrf_token": token, **fields,
                                     field: (io.BytesIO(content), "upload.csv")},
                               content_type="multipart/form-data")
        assert response.status_code < 500, (target, content[:60], response.status_code)

    check()


@pytest.mark.parametrize("role", ["admin", "approver", "supervisor"])
def test_values_beyond_the_databases_columns_are_refused_never_a_5xx(client, app, runtime,
                                                                     monkeypatch, role):
    """PostgreSQL, unlike SQLite, holds a column to its type: an integer stops at 2**31 - 1
    and a varchar at its length. An id past the first, in a path, a query or a form, is one
    that does not exist; a text longer than its column is refused, not a 500."""
    add_counties_with_places(runtime)
    paths = console_paths(app, add_one_of_each(runtime, monkeypatch))
    assert log_in(client, add_user(runtime, role)).status_code == 302
    names = form_fields(client, paths)
    token = csrf_token(client, "/console/")
    huge = str(2**31)
    for method, path in paths:
        for where in ("path", "ids", "long texts"):
            target = re.sub(r"/\d+(?=/|$)", f"/{huge}", path) if where == "path" else path
            if where == "path" and target == path:
                continue
            fields = {"path": {}, "ids": dict.fromkeys(names, huge),
                      "long texts": dict.fromkeys(names, "Kalawa " * 100)}[where]
            response = (client.get(target, query_string=fields) if method == "GET"
                        else client.post(target, data={**fields, "csrf_token": token}))
            assert response.status_code < 500, (method, target, where, response.status_code)
