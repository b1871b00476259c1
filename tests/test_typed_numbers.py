"""Numbers people type: "²" and "٣" are digits to str.isdigit(), never to Baraza."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.digits import MAX_ID, id_or_none, whole_or_none
from tests.console_support import add_counties_with_places, add_user, csrf_token, log_in
from tests.ticket_support import open_one, ticket

HOSTILE = ["²", "٣", "¹²", "9" * 40, "-1", " 7", "7a", "", "1e3"]


@given(st.text(max_size=30))
@settings(max_examples=300, derandomize=True, database=None)
def test_whole_or_none_never_raises_and_only_reads_ascii_digits(text):
    value = whole_or_none(text)
    assert value is None or (text.isascii() and text.isdigit() and value == int(text))


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("2147483647", MAX_ID), ("2147483648", None), ("99999999999", None),
    ("0", 0), ("-1", None), ("²", None), ("", None), (" 7", None)])
def test_an_id_is_a_whole_number_the_database_integer_holds(text, expected):
    assert id_or_none(text) == expected


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_numbers_in_console_forms_are_refused_not_a_crash(app, runtime, typed):
    add_counties_with_places(runtime)
    reference = open_one(runtime)
    with runtime.sessions() as db:
        ticket_id = ticket(db, reference).id
    client = app.test_client()
    log_in(client, add_user(runtime, "supervisor", "nandi"))
    base = "/console/orgs/nandi/tickets"
    assert client.get(f"{base}?place={typed}&assignee={typed}&page={typed}").status_code == 200
    token = csrf_token(client, f"{base}/{ticket_id}")
    assigned = client.post(f"{base}/{ticket_id}/assign",
                           data={"csrf_token": token, "assignee": typed})
    assert assigned.status_code < 500
    with runtime.sessions() as db:
        assert ticket(db, reference).assignee_id is None
