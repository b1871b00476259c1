"""AT's delivery reports, posted as raw forms: stored as received, applied forward only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.channels.at_forms import DeliveryReportForm
from app.db.base import utcnow
from app.db.models import DeliveryReport, OutboxMessage, OutboxStatus, SendLane, SmsSuppression
from app.services import delivery_reports, outbox
from app.services.organizations import organization_by_code
from app.services.sms_sender import SmsSender
from tests.factories import add_counties
from tests.sms_support import PHONE
from workers import jobs
from workers.context import set_runtime


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


def sent_message(runtime, msisdn: str = PHONE, at_id: str = "ATXid_out_1",
                 status: OutboxStatus = OutboxStatus.SENT) -> int:
    """An outbox row AT accepted with `at_id`."""
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        row = db.get(OutboxMessage, outbox.queue_sms(db, org.id, msisdn, "Mkutano kesho",
                                                     SendLane.NOTICE))
        row.status, row.backend, row.sent_at = status, "at", utcnow()
        row.at_message_id = at_id if status == OutboxStatus.SENT else None
        return row.id


def report_form(status: str, *, at_id: str = "ATXid_out_1", phone: str = PHONE,
                retry: str = "0", reason: str | None = None) -> dict[str, str]:
    form = {"id": at_id, "status": status, "phoneNumber": phone, "networkCode": "63902",
            "retryCount": retry}
    if reason is not None:
        form["failureReason"] = reason
    return form


def post_report(client, status: str, query: str = "", **fields):
    return client.post(f"/at/sms/delivery{query}", data=report_form(status, **fields))


def message(runtime, message_id: int) -> OutboxMessage:
    with runtime.sessions() as db:
        return db.get(OutboxMessage, message_id)


def reports(runtime) -> list[DeliveryReport]:
    with runtime.sessions() as db:
        return list(db.scalars(select(DeliveryReport).order_by(DeliveryReport.id)))


def test_a_final_report_marks_the_message_delivered(client, runtime):
    message_id = sent_message(runtime)
    assert post_report(client, "Success").status_code == 200
    row = message(runtime, message_id)
    assert (row.delivery_status, row.failure_reason) == ("Success", None)
    assert row.delivered_at is not None
    [stored] = reports(runtime)
    assert (stored.at_id, stored.status, stored.retry_count, stored.msisdn,
            stored.outbox_message_id) == ("ATXid_out_1", "Success", 0, PHONE, message_id)
    assert stored.payload["networkCode"] == "63902"


def test_the_same_report_twice_is_stored_once(client, runtime):
    message_id = sent_message(runtime)
    for _ in range(2):
        assert post_report(client, "Success").status_code == 200
    assert len(reports(runtime)) == 1
    assert message(runtime, message_id).delivery_status == "Success"


def test_reports_out_of_order_only_move_forward(client, runtime):
    message_id = sent_message(runtime)
    post_report(client, "Buffered")
    assert message(runtime, message_id).delivery_status == "Buffered"
    post_report(client, "Sent")  # older news, arriving late
    assert message(runtime, message_id).delivery_status == "Buffered"
    post_report(client, "Failed", reason="DeliveryFailure", retry="1")
    post_report(client, "Submitted", retry="2")
    row = message(runtime, message_id)
    assert (row.delivery_status, row.failure_reason) == ("Failed", "DeliveryFailure")
    assert len(reports(runtime)) == 4  # every report is kept as received


def test_a_final_state_is_never_downgraded_or_replaced(client, runtime):
    message_id = sent_message(runtime)
    post_report(client, "Success")
    delivered_at = message(runtime, message_id).delivered_at
    post_report(client, "Buffered", retry="1")
    post_report(client, "Rejected", reason="DeliveryFailure", retry="2")
    row = message(runtime, message_id)
    assert (row.delivery_status, row.delivered_at, row.failure_reason) == (
        "Success", delivered_at, None)


def test_a_report_for_an_unknown_id_is_stored_and_answered_200(client, runtime):
    sent_message(runtime)
    assert post_report(client, "Success", at_id="ATXid_not_ours").status_code == 200
    [stored] = reports(runtime)
    assert (stored.at_id, stored.outbox_message_id) == ("ATXid_not_ours", None)
    assert post_report(client, "Success", at_id="ATXid_not_ours").status_code == 200
    assert len(reports(runtime)) == 1


def test_a_report_without_an_id_is_refused(client, runtime):
    assert client.post("/at/sms/delivery", data={"status": "Success"}).status_code == 400
    assert reports(runtime) == []


def test_the_delivery_callback_checks_the_token(client, runtime):
    runtime.settings = runtime.settings.with_overrides(callback_token="s3cret-token")
    sent_message(runtime)
    assert post_report(client, "Success").status_code == 403
    assert post_report(client, "Success", query="?token=wrong").status_code == 403
    assert reports(runtime) == []
    assert post_report(client, "Success", query="?token=s3cret-token").status_code == 200


def test_user_in_blacklist_suppresses_the_number(client, runtime):
    message_id = sent_message(runtime)
    post_report(client, "Failed", reason="UserInBlackList")
    assert message(runtime, message_id).failure_reason == "UserInBlackList"
    with runtime.sessions() as db:
        [suppression] = db.scalars(select(SmsSuppression))
    assert (suppression.msisdn, suppression.source, suppression.lifted_at) == (
        PHONE, "blacklist_report", None)
    # The next notice to that number is not sent.
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        notice_id = outbox.queue_sms(db, org.id, PHONE, "Habari", SendLane.NOTICE)
    report = SmsSender(runtime.sessions, runtime.sms_sender.backend).send([notice_id])
    assert (report.sent, report.suppressed) == (0, 1)
    assert message(runtime, notice_id).status == OutboxStatus.SUPPRESSED


def test_a_report_reconciles_an_uncertain_send_to_that_number(client, runtime):
    message_id = sent_message(runtime, status=OutboxStatus.UNCERTAIN)
    other_id = sent_message(runtime, msisdn="+254722000111", status=OutboxStatus.UNCERTAIN)
    post_report(client, "Success", at_id="ATXid_we_never_heard_of")
    row = message(runtime, message_id)
    assert (row.status, row.at_message_id, row.delivery_status) == (
        OutboxStatus.SENT, "ATXid_we_never_heard_of", "Success")
    assert row.error.startswith("reconciled by a delivery report")
    assert message(runtime, other_id).status == OutboxStatus.UNCERTAIN
    [stored] = reports(runtime)
    assert stored.outbox_message_id == message_id


def test_the_sweep_gives_up_on_reports_after_72_hours(runtime):
    waiting = sent_message(runtime, at_id="ATXid_a")
    buffered = sent_message(runtime, at_id="ATXid_b")
    delivered = sent_message(runtime, at_id="ATXid_c")
    recent = sent_message(runtime, at_id="ATXid_d")
    with runtime.sessions.begin() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.id == buffered)
                   .values(delivery_status="Buffered"))
        db.execute(update(OutboxMessage).where(OutboxMessage.id == delivered)
                   .values(delivery_status="Success", delivered_at=utcnow()))  # as a report does
        db.execute(update(OutboxMessage).where(OutboxMessage.id != recent)
                   .values(sent_at=utcnow() - timedelta(hours=73)))
    set_runtime(runtime)
    try:
        assert jobs.sweep_delivery_reports() == 2
        assert jobs.sweep_delivery_reports() == 0  # safe to run again
    finally:
        set_runtime(None)
    assert [message(runtime, i).delivery_status for i in (waiting, buffered, delivered, recent)] \
        == ["unknown", "unknown", "Success", None]
    # A final report that turns up later still wins over our give-up.
    form = report_form("Success", at_id="ATXid_a")
    delivery_reports.receive_report(runtime.sessions, DeliveryReportForm.from_form(form))
    assert message(runtime, waiting).delivery_status == "Success"
