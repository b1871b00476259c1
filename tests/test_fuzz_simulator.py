"""The development phone simulator under hostile input: whatever the browser (or anyone who
reaches it) sends, never a 5xx, and a USSD reply is always one AT could deliver."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import MAKUENI_USSD, add_counties
from tests.test_fuzz_keywords import hostile_text

FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
# What a JSON field may be: text, a number, a list, an object, null, or absent.
value = st.one_of(hostile_text, st.integers(), st.floats(allow_nan=True), st.booleans(),
                  st.none(), st.lists(st.integers(), max_size=3),
                  st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                  st.sampled_from([MAKUENI_USSD, "+254712345678", "0712345678", "1*1"]))
fields = st.dictionaries(st.sampled_from(["session_id", "service_code", "phone", "text"]),
                         value)


@pytest.fixture
def page_token(runtime, client) -> str:
    add_counties(runtime)
    page = client.get("/simulator/")
    assert page.status_code == 200
    return TOKEN.search(page.get_data(as_text=True)).group(1)


@pytest.mark.parametrize("path", ["/simulator/ussd", "/simulator/sms"])
def test_hostile_json_gets_an_answer_never_a_crash(client, page_token, path):
    @FUZZ
    @given(st.one_of(fields, value))
    def check(body):
        response = client.post(path, json=body, headers={"X-CSRFToken": page_token})
        assert response.status_code < 500, (body, response.status_code)
        if path.endswith("ussd"):
            reply = response.get_json()["reply"]
            assert reply.startswith(("CON ", "END ")) and len(reply) <= 4 + 160, reply

    check()


def test_hostile_inbox_queries_get_an_answer_never_a_crash(client, page_token):
    @FUZZ
    @given(hostile_text, hostile_text)
    def check(service_code, phone):
        response = client.get("/simulator/inbox",
                              query_string={"service_code": service_code, "phone": phone})
        assert response.status_code in (200, 400, 404), response.status_code

    check()
