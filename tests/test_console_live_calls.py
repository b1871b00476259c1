"""The caller lookup lists calls being put through to agents, so an agent sees who is calling."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models import Role, User
from tests.console_support import add_user, log_in
from tests.factories import add_counties
from tests.voice_support import check_reply, final_form, voice_form

CALLER = "+254722000111"
AGENT_PHONE = "+254700000001"


def _agent(runtime, org_code: str = "nandi") -> str:
    email = add_user(runtime, Role.AGENT.value, org_code)
    with runtime.sessions.begin() as db:
        db.scalar(select(User).where(User.email == email)).msisdn = AGENT_PHONE
    return email


def _ask_for_an_agent(client, session: str) -> None:
    menu = check_reply(client.post("/at/voice", data=voice_form(session, caller=CALLER)))
    dialled = check_reply(client.post(menu.next_url(),
                                      data=voice_form(session, caller=CALLER, dtmfDigits="3")))
    assert "Dial" in dialled.names


def test_an_agent_sees_the_caller_ringing_them_and_opens_their_history(app, runtime):
    add_counties(runtime)
    email = _agent(runtime)
    phone = app.test_client()
    _ask_for_an_agent(phone, "ATVId_live")
    console = app.test_client()
    log_in(console, email)
    page = console.get("/console/orgs/nandi/callers").get_data(as_text=True)
    assert "On the line now" in page and "ringing agents" in page
    assert f"/console/orgs/nandi/callers?phone=%2B{CALLER[1:]}" in page
    phone.post("/at/voice", data=final_form("ATVId_live", caller=CALLER))  # the call ends
    callers = console.get("/console/orgs/nandi/callers").get_data(as_text=True)
    assert "On the line now" not in callers


def test_another_organizations_calls_are_not_listed(app, runtime):
    add_counties(runtime)
    _agent(runtime)
    _ask_for_an_agent(app.test_client(), "ATVId_nandi")
    console = app.test_client()
    log_in(console, add_user(runtime, Role.AGENT.value, "makueni"))
    response = console.get("/console/orgs/makueni/callers")
    assert response.status_code == 200 and CALLER not in response.get_data(as_text=True)
