"""The outbox and the sender, through the official SDK against a local AT-compatible server."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.channels.at_sms import AtSmsBackend
from app.channels.sms_out import ConsoleBackend
from app.db.models import OutboxMessage, OutboxStatus, SendLane
from app.runtime import build_sms_backend
from app.services import dispatch, outbox
from app.services.organizations import organization_by_code
from app.services.sms_sender import MAX_ATTEMPTS, RETRY_DELAYS, Retry, SmsSender
from tests.factories import add_counties
from tests.sms_support import PHONE

OTHER = "+254722000111"
THIRD = "+254733000222"


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


@pytest.fixture
def backend(fake_at):
    # A short read timeout keeps the "AT hangs" case quick; nothing asserts on time.
    return AtSmsBackend.connect(fake_at.username, fake_at.api_key, fake_at.url,
                                timeout=(2, 0.5))


@pytest.fixture
def sender(runtime, backend):
    return SmsSender(runtime.sessions, backend, batch_size=100)


def queue(runtime, *msisdns: str, body: str = "Habari", lane=SendLane.REPLY,
          org: str = "makueni") -> list[int]:
    with runtime.sessions.begin() as db:
        organization = organization_by_code(db, org)
        return [outbox.queue_sms(db, organization.id, m, body, lane) for m in msisdns]


def rows(runtime) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_queue_sms_joins_the_callers_transaction(runtime):
    with runtime.sessions() as db:
        organization = organization_by_code(db, "nandi")
        message_id = outbox.queue_sms(db, organization.id, PHONE, "Hi", SendLane.NOTICE)
        assert db.get(OutboxMessage, message_id).sender == "1548"
        db.rollback()  # the caller's change failed: nothing is left to send
    assert rows(runtime) == []


def test_accepted_send_records_what_at_said(runtime, sender, fake_at):
    [message_id] = queue(runtime, PHONE)
    report = sender.send([message_id])
    assert (report.sent, report.failed, report.retries) == (1, 0, ())
    [row] = rows(runtime)
    assert (row.status, row.status_code, row.cost, row.backend, row.attempts) == (
        OutboxStatus.SENT, 101, "KES 0.8000", "at", 1)
    assert row.at_message_id.startswith("ATXid_") and row.sent_at is not None
    [request] = fake_at.requests
    assert (request.api_key, request.username, request.to, request.message, request.sender,
            request.bulk_sms_mode, request.accept) == (
        fake_at.api_key, "sandbox", [PHONE], "Habari", "40014", "1", "application/json")


def test_each_recipient_is_judged_on_its_own(runtime, sender, fake_at):
    fake_at.answer(OTHER, 403)
    fake_at.answer(THIRD, 406)
    ids = queue(runtime, PHONE, OTHER, THIRD)
    report = sender.send(ids)
    assert (report.sent, report.failed, report.suppressed) == (1, 1, 1)
    assert [r.to for r in fake_at.requests] == [[PHONE, OTHER, THIRD]]  # one request
    assert [(r.msisdn, r.status, r.status_code, r.error, r.at_message_id) for r in rows(runtime)] \
        == [(PHONE, OutboxStatus.SENT, 101, None, rows(runtime)[0].at_message_id),
            (OTHER, OutboxStatus.FAILED, 403, "InvalidPhoneNumber", None),
            (THIRD, OutboxStatus.SUPPRESSED, 406, "UserInBlacklist", None)]


@pytest.mark.parametrize("code", [100, 101, 102])
def test_accepted_codes(runtime, sender, fake_at, code):
    fake_at.answer(PHONE, code)
    sender.send(queue(runtime, PHONE))
    assert [(r.status, r.status_code) for r in rows(runtime)] == [(OutboxStatus.SENT, code)]


@pytest.mark.parametrize("code", [401, 402, 403, 404, 407, 502, 999])
def test_permanent_codes_are_not_retried(runtime, sender, fake_at, code):
    fake_at.answer(PHONE, code)
    report = sender.send(queue(runtime, PHONE))
    assert report.retries == ()
    assert [(r.status, r.status_code) for r in rows(runtime)] == [(OutboxStatus.FAILED, code)]
    sender.send([r.id for r in rows(runtime)])
    assert len(fake_at.requests) == 1


@pytest.mark.parametrize("code", [500, 501, 405, 409])
def test_transient_codes_are_retried_until_accepted(runtime, sender, fake_at, code):
    fake_at.answer(PHONE, code)
    [message_id] = queue(runtime, PHONE)
    report = sender.send([message_id])
    assert report.retries == (Retry(SendLane.REPLY, RETRY_DELAYS[0], (message_id,)),)
    [row] = rows(runtime)
    assert (row.status, row.status_code, row.attempts) == (OutboxStatus.QUEUED, code, 1)
    report = sender.send([message_id])
    assert (report.sent, report.retries) == (1, ())
    [row] = rows(runtime)
    assert (row.status, row.status_code, row.attempts, row.error) == (
        OutboxStatus.SENT, 101, 2, None)
    assert len(fake_at.requests) == 2


def test_an_http_error_is_transient(runtime, sender, fake_at):
    fake_at.fail_next(500, "Internal Server Error")
    [message_id] = queue(runtime, PHONE)
    report = sender.send([message_id])
    assert [r.ids for r in report.retries] == [(message_id,)]
    [row] = rows(runtime)
    assert (row.status, row.error) == (OutboxStatus.QUEUED, "AT: Internal Server Error")
    sender.send([message_id])
    assert [(r.status, r.attempts) for r in rows(runtime)] == [(OutboxStatus.SENT, 2)]


def test_a_timeout_after_the_request_left_is_uncertain_not_resent(runtime, sender, fake_at):
    fake_at.hang_next()
    [message_id] = queue(runtime, PHONE)
    report = sender.send([message_id])
    assert (report.retries, report.uncertain) == ((), 1)
    [row] = rows(runtime)
    assert (row.status, row.error) == (OutboxStatus.UNCERTAIN, "network: ReadTimeout")
    sender.send([message_id])
    assert len(fake_at.requests) == 1


def test_unreachable_at_is_transient(runtime, sender):
    sender.backend = AtSmsBackend.connect("sandbox", "key", "http://127.0.0.1:9", (1, 1))
    report = sender.send(queue(runtime, PHONE))
    assert len(report.retries) == 1
    assert rows(runtime)[0].error == "network: ConnectionError"


def test_retries_are_bounded(runtime, sender, fake_at):
    [message_id] = queue(runtime, PHONE)
    with runtime.sessions.begin() as db:
        db.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1))
    fake_at.answer(PHONE, 500)
    report = sender.send([message_id])
    assert report.retries == ()
    [row] = rows(runtime)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)
    assert row.error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


def test_an_accepted_row_is_never_sent_again(runtime, sender, fake_at):
    [message_id] = queue(runtime, PHONE)
    sender.send([message_id])
    assert sender.send([message_id]).sent == 0
    assert len(fake_at.requests) == 1
    assert rows(runtime)[0].attempts == 1


def test_a_row_left_calling_by_a_crash_is_not_resent_blindly(runtime, sender, fake_at):
    [message_id] = queue(runtime, PHONE)
    with runtime.sessions.begin() as db:
        claimed = outbox.claim(db, outbox.queued(db, [message_id]))  # then the worker died
    assert claimed == {message_id}
    sender.send([message_id])
    assert fake_at.requests == []
    assert [(r.status, r.attempts) for r in rows(runtime)] == [(OutboxStatus.CALLING, 1)]


def test_a_row_attempted_since_it_was_read_is_left_to_its_retry(runtime, sender, fake_at):
    fake_at.answer(PHONE, 500)
    [message_id] = queue(runtime, PHONE)
    with runtime.sessions.begin() as db:
        [read] = outbox.queued(db, [message_id])  # a second job for the same row read it
    assert sender.send([message_id]).retries  # the first job's attempt: retry in 30 s
    with runtime.sessions.begin() as db:  # the second job reaches its batch: no early resend
        assert outbox.claim(db, [read]) == set()
    assert [(r.status, r.attempts) for r in rows(runtime)] == [(OutboxStatus.QUEUED, 1)]
    assert len(fake_at.requests) == 1


def test_batches_share_a_body_and_never_repeat_a_number(runtime, fake_at, backend):
    sender = SmsSender(runtime.sessions, backend, batch_size=2)
    queue(runtime, PHONE, OTHER, THIRD, PHONE, body="Mkutano wa bajeti ni kesho")
    queue(runtime, PHONE, body="Another text")
    sender.send([r.id for r in rows(runtime)])
    sent = sorted((r.message, tuple(r.to)) for r in fake_at.requests)
    assert sent == [("Another text", (PHONE,)),
                    ("Mkutano wa bajeti ni kesho", (PHONE, OTHER)),
                    ("Mkutano wa bajeti ni kesho", (THIRD, PHONE))]
    assert {r.status for r in rows(runtime)} == {OutboxStatus.SENT}


def test_a_number_that_is_not_e164_fails_without_a_request(runtime, sender, fake_at):
    sender.send(queue(runtime, "0712345678"))
    assert [(r.status, r.error) for r in rows(runtime)] == [
        (OutboxStatus.FAILED, "not an E.164 number")]
    assert fake_at.requests == []


def test_console_backend_marks_rows_sent_for_the_simulator(runtime, fake_at):
    sender = SmsSender(runtime.sessions, ConsoleBackend())
    sender.send(queue(runtime, PHONE, body="Karibu"))
    [row] = rows(runtime)
    assert (row.status, row.backend, row.body, row.at_message_id) == (
        OutboxStatus.SENT, "console", "Karibu", None)
    assert fake_at.requests == []


def test_runtime_picks_the_backend_from_settings(settings, fake_at):
    assert isinstance(build_sms_backend(settings), ConsoleBackend)
    at = build_sms_backend(settings.with_overrides(
        at_username="sandbox", at_api_key="k", at_api_url=fake_at.url + "/"))
    assert isinstance(at, AtSmsBackend)
    assert at.service._baseUrl == fake_at.url + "/version1"


class RecordingDispatcher:
    def __init__(self):
        self.sends = []

    def send_sms(self, outbox_ids, lane, delay=0):
        self.sends.append((list(outbox_ids), lane, delay))


def test_transient_failures_are_handed_back_with_a_delay(runtime, sender, fake_at):
    fake_at.answer(PHONE, 500)
    ids = queue(runtime, PHONE, lane=SendLane.NOTICE)
    dispatcher = RecordingDispatcher()
    dispatch.send_sms(sender, dispatcher, ids)
    assert dispatcher.sends == [(ids, SendLane.NOTICE, RETRY_DELAYS[0])]


def test_inline_dispatcher_schedules_the_retry_in_process(runtime, sender, fake_at):
    fake_at.answer(PHONE, 500)
    later = []
    inline = dispatch.InlineDispatcher(runtime.inbound_sms, sender,
                                       schedule=lambda delay, work: later.append((delay, work)))
    ids = queue(runtime, PHONE)
    inline.send_sms(ids, SendLane.REPLY)
    [(delay, work)] = later
    assert delay == RETRY_DELAYS[0]
    work()
    assert [(r.status, r.attempts) for r in rows(runtime)] == [(OutboxStatus.SENT, 2)]


def test_an_unreadable_2xx_is_not_sent_again(runtime, sender, fake_at):
    fake_at.fail_next(201, "Sent, probably")  # AT took it, but the reply makes no sense
    ids = queue(runtime, PHONE)
    assert sender.send(ids).retries == ()
    assert [(r.status, r.error) for r in rows(runtime)] == [
        (OutboxStatus.FAILED, "unreadable AT reply")]
    sender.send(ids)
    assert len(fake_at.requests) == 1
