"""Tickets: references with a check digit, SLAs, the workflow, notices and escalation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.db.models import (
    OutboxMessage,
    Role,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
    User,
)
from app.services.organizations import organization_by_code
from app.settings import SettingsError, load_settings
from app.tickets import notices, references, sla
from app.tickets.escalation import claim, escalate_overdue
from app.tickets.tickets import Found, NewTicket, look_up, open_ticket
from app.tickets.workflow import ChangeRefused, assign, change_status, comment, rate
from tests.console_support import add_user
from tests.factories import add_counties
from tests.ticket_support import CALLER, NEIGHBOUR, open_one, org_id, outbox_to, ticket

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 10:00 in Nairobi

# -- references (pure) ----------------------------------------------------------------------

bodies = st.integers(min_value=10**5, max_value=10**6 - 1).map(str)


@given(bodies)
def test_a_reference_made_from_any_body_is_valid(body):
    assert references.is_valid(body + references.check_digit(body))


@given(bodies, st.data())
def test_every_single_mistyped_digit_is_caught(body, data):
    reference = body + references.check_digit(body)
    position = data.draw(st.integers(0, len(reference) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != reference[position]]))
    assert not references.is_valid(reference[:position] + wrong + reference[position + 1:])


@given(bodies, st.data())
def test_every_swap_of_neighbouring_digits_is_caught(body, data):
    reference = body + references.check_digit(body)
    i = data.draw(st.integers(0, len(reference) - 2))
    if reference[i] == reference[i + 1]:
        return  # swapping equal digits changes nothing
    swapped = reference[:i] + reference[i + 1] + reference[i] + reference[i + 2:]
    assert not references.is_valid(swapped)


def test_new_references_are_seven_digits_never_starting_with_zero():
    rng = random.Random(7)
    made = [references.new_reference(rng) for _ in range(500)]
    assert all(len(r) == 7 and r[0] != "0" and references.is_valid(r) for r in made)


@pytest.mark.parametrize("typed, clean", [(" 482-913 7#", "4829137"), ("48.29.137", "4829137"),
                                          ("", "")])
def test_what_callers_add_around_a_reference_is_dropped(typed, clean):
    assert references.cleaned(typed) == clean


@pytest.mark.parametrize("typed", ["", "7", "abc1234", "１２３４５６７", "12345678901234567"])
def test_non_references_are_not_valid(typed):
    assert not references.is_valid(typed)


# -- SLA (pure) -----------------------------------------------------------------------------


def test_the_sla_setting_overrides_some_categories_and_keeps_the_rest():
    policy = sla.parse_policy("corruption=24, service=96")
    assert policy.hours[TicketCategory.CORRUPTION] == 24
    assert policy.hours[TicketCategory.SERVICE_DELIVERY] == 96
    assert policy.hours[TicketCategory.ENQUIRY] == sla.DEFAULT_HOURS[TicketCategory.ENQUIRY]
    assert policy.due_at(MONDAY, TicketCategory.CORRUPTION) == MONDAY + timedelta(hours=24)
    assert policy.overridden({"enquiry": 8}).hours[TicketCategory.ENQUIRY] == 8


@pytest.mark.parametrize("bad", ["corruption", "water=12", "service=0", "service=two"])
def test_a_bad_sla_setting_stops_the_start_with_the_reason(bad):
    with pytest.raises(SettingsError, match="TICKET_SLA_HOURS"):
        load_settings({"TICKET_SLA_HOURS": bad})


def test_only_open_tickets_are_overdue():
    due = MONDAY
    assert sla.is_overdue(TicketStatus.IN_PROGRESS, due, due)
    assert not sla.is_overdue(TicketStatus.IN_PROGRESS, due, due - timedelta(seconds=1))
    assert not sla.is_overdue(TicketStatus.RESOLVED, due, due + timedelta(days=9))


# -- opening and finding --------------------------------------------------------------------


@pytest.fixture(autouse=False)
def counties(runtime):
    add_counties(runtime)


def test_a_ticket_is_due_by_its_category_and_the_caller_gets_the_reference(runtime, counties):
    ref = open_one(runtime, category=TicketCategory.CORRUPTION, now=MONDAY)
    with runtime.sessions() as db:
        made = ticket(db, ref)
        assert made.status == TicketStatus.NEW
        assert made.due_at == MONDAY + timedelta(hours=48)
        assert [e.kind for e in made.events] == [TicketEventKind.CREATED]
        (notice,) = outbox_to(db, CALLER)
        assert ref in notice and "25 Nov 2026" in notice and len(notice) <= 160


def test_one_source_opens_one_ticket(runtime, counties):
    first = open_one(runtime, source_key="ATXid_1")
    again = open_one(runtime, source_key="ATXid_1")
    assert first == again
    with runtime.sessions() as db:
        assert db.scalar(select(func.count(Ticket.id))) == 1
        assert len(outbox_to(db, CALLER)) == 1


def test_an_organization_can_shorten_a_category(runtime, counties):
    with runtime.sessions.begin() as db:
        organization_by_code(db, "nandi").ticket_sla_hours = {"service": 6}
    ref = open_one(runtime, now=MONDAY)
    with runtime.sessions() as db:
        assert ticket(db, ref).due_at == MONDAY + timedelta(hours=6)


def test_a_caller_sees_only_their_own_ticket(runtime, counties):
    ref = open_one(runtime)
    nandi = org_id(runtime)
    with runtime.sessions() as db:
        assert look_up(db, nandi, ref, CALLER).found == Found.YOURS
        assert look_up(db, nandi, f" {ref[:3]}-{ref[3:]}#", CALLER).found == Found.YOURS
        other = look_up(db, nandi, ref, NEIGHBOUR)
        assert other.found == Found.NOT_YOURS and other.ticket is None
        mistyped = ref[:-2] + ref[-1] + ref[-2] if ref[-1] != ref[-2] else ref[:-1] + "x"
        assert look_up(db, nandi, mistyped, CALLER).found == Found.MISTYPED
        assert look_up(db, org_id(runtime, "makueni"), ref, CALLER).found == Found.UNKNOWN
        assert look_up(db, nandi, ref, None).found == Found.YOURS  # staff


# -- workflow -------------------------------------------------------------------------------


def _user(runtime, role: Role, msisdn: str | None = None) -> User:
    email = add_user(runtime, role.value, "nandi")
    with runtime.sessions.begin() as db:
        user = db.scalar(select(User).where(User.email == email))
        user.msisdn = msisdn
        db.flush()
        db.expunge(user)
        return user


def test_each_status_change_is_history_and_a_notice(runtime, counties):
    ref = open_one(runtime, notify=False)
    agent = _user(runtime, Role.AGENT)
    desk = runtime.desk
    with runtime.sessions.begin() as db:
        made = ticket(db, ref)
        assign(db, desk, made, db.get(User, agent.id), db.get(User, agent.id))
        change_status(db, desk, made, TicketStatus.IN_PROGRESS, db.get(User, agent.id), "visited")
        comment(db, made, db.get(User, agent.id), "pipe burst near the market")
        change_status(db, desk, made, TicketStatus.RESOLVED, db.get(User, agent.id))
    with runtime.sessions() as db:
        made = ticket(db, ref)
        kinds = [(e.kind, e.to_value) for e in made.events]
        assert kinds == [(TicketEventKind.CREATED, "new"),
                         (TicketEventKind.ASSIGNED, str(agent.id)),
                         (TicketEventKind.STATUS, "assigned"), (TicketEventKind.STATUS, "progress"),
                         (TicketEventKind.COMMENT, None), (TicketEventKind.STATUS, "resolved")]
        sent = outbox_to(db, CALLER)
        assert len(sent) == 3  # assigned, in progress, resolved; the comment is internal
        swahili = runtime.catalogs.gettext_for("sw")  # Nandi's first language
        assert sent[-1] == swahili(notices.RESOLVED_ASK).format(ref=ref)


def test_the_workflow_refuses_what_makes_no_sense(runtime, counties):
    ref = open_one(runtime, notify=False)
    desk = runtime.desk
    with runtime.sessions.begin() as db:
        made = ticket(db, ref)
        change_status(db, desk, made, TicketStatus.CLOSED, None)
        with pytest.raises(ChangeRefused):
            change_status(db, desk, made, TicketStatus.IN_PROGRESS, None)
        with pytest.raises(ChangeRefused):
            rate(db, desk, made, True)
        with pytest.raises(ChangeRefused):
            comment(db, made, None, "   ")


def test_not_satisfied_reopens_with_a_fresh_clock_and_satisfied_closes(runtime, counties):
    desk = runtime.desk
    unhappy, happy = open_one(runtime, notify=False), open_one(runtime, notify=False)
    later = MONDAY + timedelta(days=30)
    with runtime.sessions.begin() as db:
        for ref in (unhappy, happy):
            change_status(db, desk, ticket(db, ref), TicketStatus.RESOLVED, None)
        rate(db, desk, ticket(db, unhappy), False, now=later)
        rate(db, desk, ticket(db, happy), True, now=later)
    with runtime.sessions() as db:
        reopened = ticket(db, unhappy)
        assert reopened.status == TicketStatus.REOPENED and reopened.satisfied is False
        assert reopened.due_at == later + timedelta(hours=72)
        assert ticket(db, happy).status == TicketStatus.CLOSED
        sent = outbox_to(db, CALLER)
        swahili = runtime.catalogs.gettext_for("sw")
        assert swahili(notices.THANKS_CLOSED).format(ref=happy) in sent
        assert any(body.startswith(swahili(notices.REOPENED).split("{")[0]) for body in sent)


# -- escalation (fixed clock) ---------------------------------------------------------------


def test_overdue_tickets_are_escalated_once_and_supervisors_told(runtime, counties):
    supervisor = _user(runtime, Role.SUPERVISOR, "+254700000999")
    _user(runtime, Role.AGENT, "+254700000888")  # agents are not told
    desk = runtime.desk
    late = open_one(runtime, category=TicketCategory.ENQUIRY, now=MONDAY, notify=False)
    on_time = open_one(runtime, category=TicketCategory.PROJECT, now=MONDAY, notify=False)
    done = open_one(runtime, category=TicketCategory.ENQUIRY, now=MONDAY, notify=False)
    with runtime.sessions.begin() as db:
        change_status(db, desk, ticket(db, done), TicketStatus.RESOLVED, None, now=MONDAY)
    at_deadline = MONDAY + timedelta(hours=48)
    with runtime.sessions.begin() as db:
        assert escalate_overdue(db, desk, now=at_deadline - timedelta(seconds=1)).ticket_ids == []
    with runtime.sessions.begin() as db:
        first = escalate_overdue(db, desk, now=at_deadline)
    with runtime.sessions.begin() as db:
        second = escalate_overdue(db, desk, now=at_deadline + timedelta(hours=1))
    with runtime.sessions() as db:
        assert first.ticket_ids == [ticket(db, late).id] and second.ticket_ids == []
        escalated = ticket(db, late)
        assert escalated.escalated_at == at_deadline
        assert escalated.priority == TicketPriority.HIGH
        assert escalated.events[-1].kind == TicketEventKind.ESCALATED
        assert ticket(db, on_time).escalated_at is None
        (alert,) = outbox_to(db, supervisor.msisdn)
        assert late in alert
        assert outbox_to(db, "+254700000888") == []
        assert db.scalar(select(func.count(OutboxMessage.id))) == 2  # resolved notice + alert
        assert db.scalar(select(func.count(TicketEvent.id))
                         .where(TicketEvent.kind == TicketEventKind.ESCALATED)) == 1


def test_reopening_an_escalated_ticket_lets_it_escalate_again(runtime, counties):
    desk = runtime.desk
    ref = open_one(runtime, category=TicketCategory.ENQUIRY, now=MONDAY, notify=False)
    with runtime.sessions.begin() as db:
        escalate_overdue(db, desk, now=MONDAY + timedelta(days=3))
        change_status(db, desk, ticket(db, ref), TicketStatus.RESOLVED, None)
        rate(db, desk, ticket(db, ref), False, now=MONDAY + timedelta(days=4))
    with runtime.sessions() as db:
        assert ticket(db, ref).escalated_at is None
    with runtime.sessions.begin() as db:
        again = escalate_overdue(db, desk, now=MONDAY + timedelta(days=7))
        assert again.ticket_ids == [ticket(db, ref).id]


# -- found in review ------------------------------------------------------------------------


def test_a_reference_taken_meanwhile_is_drawn_again_never_another_ticket(runtime, counties):
    taken = open_one(runtime, org_code="makueni")
    with runtime.sessions.begin() as db:
        new = NewTicket(organization_id=org_id(runtime, "makueni"), channel=TicketChannel.USSD,
                        category=TicketCategory.OTHER, description="Road washed away",
                        msisdn=NEIGHBOUR, reference=taken)  # a screen showed it, then it went
        opened = open_ticket(db, runtime.desk, new)
        assert opened.created and opened.ticket.reference != taken
        assert references.is_valid(opened.ticket.reference)
        assert opened.ticket.msisdn == NEIGHBOUR


def test_a_ticket_resolved_after_the_select_is_not_escalated(runtime, counties):
    ref = open_one(runtime, category=TicketCategory.ENQUIRY, now=MONDAY, notify=False)
    later = MONDAY + timedelta(days=5)
    with runtime.sessions.begin() as db:
        change_status(db, runtime.desk, ticket(db, ref), TicketStatus.RESOLVED, None)
        assert not claim(db, ticket(db, ref).id, later)
        assert ticket(db, ref).escalated_at is None


def test_escalation_without_a_supervisor_phone_marks_and_warns(runtime, counties, caplog):
    ref = open_one(runtime, category=TicketCategory.ENQUIRY, now=MONDAY, notify=False)
    with runtime.sessions.begin() as db:
        escalated = escalate_overdue(db, runtime.desk, now=MONDAY + timedelta(days=5))
    assert escalated.outbox_ids == [] and len(escalated.ticket_ids) == 1
    assert "no active supervisor with a phone" in caplog.text and ref not in caplog.text


@pytest.mark.parametrize("language", ["en", "sw", "kam", "kln", "tuv", "xx"])
def test_dates_in_notices_stay_gsm7_in_any_language(runtime, counties, language):
    with runtime.sessions() as db:
        day = notices.day_text(MONDAY, organization_by_code(db, "nandi"), language)
    assert day.isascii() and "2026" in day


def test_every_notice_fits_one_gsm7_sms_in_every_catalog(runtime, counties):
    ref = open_one(runtime, notify=False)
    with runtime.sessions() as db:
        nandi, made = organization_by_code(db, "nandi"), ticket(db, ref)
        made.due_at = datetime(2026, 9, 30, 12, tzinfo=UTC)  # "30 Sep 2026": a long month
        long_refs = [ref + "99"] * 9  # references grown to nine digits
        for language in runtime.catalogs.languages:
            _ = runtime.catalogs.gettext_for(language)
            texts = [notices.received_text(_, made, nandi, language),
                     notices.status_text(_, made, nandi, language),
                     notices.overdue_text(_, long_refs), notices.closed_text(_, made)]
            for status in TicketStatus:
                made.status = status
                texts.append(notices.change_text(_, made, nandi, language))
            for text in texts:
                assert len(text) <= notices.SMS_LIMIT and text.isascii(), (language, text)


def test_database_errors_never_carry_complaint_text_or_numbers(runtime, counties):
    ref = open_one(runtime, text="my neighbour the chief took a bribe")
    with runtime.sessions() as db:
        twin = Ticket(organization_id=org_id(runtime), reference=ref, msisdn=NEIGHBOUR,
                      channel="sms", category="other", description="the chief took a bribe",
                      due_at=MONDAY)
        db.add(twin)
        with pytest.raises(IntegrityError) as failure:
            db.flush()
    assert "bribe" not in str(failure.value) and NEIGHBOUR not in str(failure.value)
