"""GET /metrics, JSON log lines, and a full run's logs scanned for phone numbers and secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from app.db.models import OutboxMessage, OutboxStatus, SendLane
from app.logs import build_handler, mask_phones
from app.services.organizations import organization_by_code
from app.settings import ROOT
from tests.console_support import add_counties_with_places, add_user, log_in
from tests.factories import MAKUENI_USSD
from tests.sms_support import post_sms, run_jobs
from tests.voice_support import final_form, voice_form

PHONE = "+254712345678"
CLEAR_PHONE = re.compile(r"\+254\d{9}|(?<!\d)07\d{8}(?!\d)|(?<![\d*])2547\d{8}")
SECRETS = {"secret_key": "s3cret-key-for-the-log-scan", "callback_token": "cb-token-for-the-scan",
           "ballot_key": "ballot-key-for-the-scan", "metrics_token": "metrics-token-for-the-scan"}


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties_with_places(runtime)


def hop(client, text: str, session: str = "ATUid_m", query: str = ""):
    return client.post(f"/at/ussd{query}", data={
        "sessionId": session, "serviceCode": MAKUENI_USSD, "phoneNumber": PHONE,
        "networkCode": "63902", "text": text})


def scrape(client, **headers: str) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return response.get_data(as_text=True)


def sample(body: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{wanted}}}" if labels else "")) + r" (\S+)$"
    match = re.search(pattern, body, re.MULTILINE)
    assert match, f"no sample {name}{labels} in\n{body}"
    return float(match.group(1))


# --- /metrics -----------------------------------------------------------------------------

def test_metrics_count_hops_sms_and_the_outbox(client, runtime):
    for text in ("", "1", "1*4"):  # language, menu, language menu
        assert hop(client, text).status_code == 200
    hop(client, "1*4*0*1*1*1*9*9*9", session="ATUid_other")  # a hop that is still answered
    assert post_sms(client, "HELP").status_code == 200
    assert post_sms(client, "HELP", at_id="").status_code == 400
    run_jobs(runtime)
    with runtime.sessions.begin() as db:  # a send AT refused (the console backend sets no code)
        org = organization_by_code(db, "makueni")
        db.add(OutboxMessage(organization_id=org.id, msisdn=PHONE, body="x",
                             lane=SendLane.CAMPAIGN, status=OutboxStatus.FAILED, status_code=403))

    body = scrape(client)
    assert sample(body, "baraza_ussd_hops_total", outcome="con") >= 3
    assert sample(body, "baraza_ussd_hop_seconds_count") == 4
    for bound in ("0.005", "0.1", "1.0", "+Inf"):
        assert f'baraza_ussd_hop_seconds_bucket{{le="{bound}"}}' in body
    assert sample(body, 'baraza_ussd_hop_seconds_bucket', le="+Inf") == 4
    assert sample(body, "baraza_sms_inbound_total", result="stored") == 1
    assert sample(body, "baraza_sms_inbound_total", result="rejected") == 1
    assert sample(body, "baraza_outbox_messages", lane="reply", status="sent") == 1
    assert sample(body, "baraza_metrics_source_up", source="database") == 1
    assert sample(body, "baraza_outbox_messages", lane="campaign", status="failed") == 1
    assert sample(body, "baraza_sms_sends_by_status_code", status_code="403") == 1
    if runtime.redis is not None:
        assert sample(body, "baraza_queue_jobs", queue="replies") == 0
        assert sample(body, "baraza_queue_failed_jobs", queue="campaigns") == 0
        assert sample(body, "baraza_metrics_source_up", source="redis") == 1
    assert "# TYPE baraza_ussd_hop_seconds histogram" in body
    assert PHONE not in body


def test_a_refused_callback_token_is_counted(client, runtime):
    runtime.settings = runtime.settings.with_overrides(callback_token="right")
    assert hop(client, "", query="?token=wrong").status_code == 403
    assert sample(scrape(client), "baraza_ussd_hops_total", outcome="refused") == 1


def test_metrics_need_the_token_when_one_is_set(client, runtime):
    runtime.settings = runtime.settings.with_overrides(metrics_token="t0ken")
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics?token=t0ken").status_code == 403  # never in a URL (logs)
    scrape(client, Authorization="Bearer t0ken")


def test_without_a_token_only_loopback_may_scrape(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


# --- log lines ----------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "masked"), [
    ("to +254712345678.", "to +2547****5678."),
    ("from 0712345678 and 254722000111", "from +2547****5678 and +2547****0111"),
    ("+447911123456 abroad", "+4479****3456 abroad"),
    ("id 1700000000, 12 ms, session ATUid_07123456789x", "id 1700000000, 12 ms, session "
                                                         "ATUid_07123456789x"),
])
def test_phone_numbers_are_masked(raw, masked):
    assert mask_phones(raw) == masked


def test_json_lines_carry_time_level_logger_message_and_request_id(app):
    stream = io.StringIO()
    logger = logging.getLogger("baraza.test.json")
    logger.addHandler(build_handler("json", stream))
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        with app.test_request_context(headers={"X-Request-Id": "req-42"}):
            app.preprocess_request()
            logger.warning("reply to %s queued", "0712345678", extra={"outbox_id": 7})
        logger.info("outside a request")
    finally:
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert set(first) == {"time", "level", "logger", "message", "request_id", "outbox_id"}
    assert (first["level"], first["logger"], first["request_id"]) == (
        "WARNING", "baraza.test.json", "req-42")
    assert first["message"] == "reply to +2547****5678 queued" and first["outbox_id"] == 7
    assert first["time"].endswith("+00:00") and second["request_id"] == "-"


def test_responses_carry_a_request_id(client):
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32
    given = client.get("/healthz", headers={"X-Request-Id": "abc-1"})
    assert given.headers["X-Request-Id"] == "abc-1"
    forged = client.get("/healthz", headers={"X-Request-Id": "+254712345678 {}"})
    assert forged.headers["X-Request-Id"] != "+254712345678 {}"


def test_a_full_run_logs_no_clear_number_and_no_secret(app, client, runtime, caplog):
    runtime.settings = runtime.settings.with_overrides(**SECRETS)
    token = f"?token={SECRETS['callback_token']}"
    stream = io.StringIO()
    handler = build_handler("json", stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        for text in ("", "1", "1*1", "1*9"):  # dial, language, vote, a wrong choice
            assert hop(client, text, query=token).status_code == 200
        hop(client, "", session="ATUid_bad", query="?token=wrong")
        client.post(f"/at/ussd{token}", data={"sessionId": "ATUid_x", "text": "",
                                             "serviceCode": MAKUENI_USSD, "phoneNumber": "07123"})
        assert post_sms(client, "HELP", query=token).status_code == 200
        post_sms(client, "VOTE 1 2", query=token, at_id="ATXid_in_2", sender="0722000111")
        post_sms(client, "HELP", query=token, at_id="ATXid_in_3", to="99999")
        # Every other callback AT sends a number in: the session's end, a delivery report for
        # an id we never sent, an opt-out, STOP and START, a call to Nandi's line and its end.
        client.post(f"/at/ussd/events{token}", data={
            "sessionId": "ATUid_m", "serviceCode": MAKUENI_USSD, "phoneNumber": "+254733111222",
            "status": "Incomplete", "hopsCount": "4", "durationInMillis": "9000", "input": "1*1",
            "cost": "KES 0.0000", "errorMessage": "", "date": "2026-11-22 08:00:00"})
        client.post(f"/at/sms/delivery{token}", data={
            "id": "ATXid_never_sent", "status": "Failed", "phoneNumber": "+254733444555",
            "networkCode": "63902", "failureReason": "UserInBlackList", "retryCount": "0"})
        client.post(f"/at/sms/optout{token}", data={"senderId": "40014",
                                                     "phoneNumber": "+254744555666"})
        post_sms(client, "STOP", query=token, at_id="ATXid_in_4", sender="+254755666777")
        post_sms(client, "START", query=token, at_id="ATXid_in_5", sender="+254755666777")
        client.post(f"/at/voice{token}", data=voice_form("ATVId_scan", caller="+254766777888"))
        client.post(f"/at/voice{token}", data=final_form("ATVId_scan", caller="+254766777888"))
        run_jobs(runtime)
        email = add_user(runtime, "officer")
        log_in(client, email, password="wrong password!")
        assert log_in(client, email).status_code == 302
        client.get("/console/orgs/makueni/callers?phone=0712345678")  # a caller looked up
        client.get("/metrics", headers={"Authorization": f"Bearer {SECRETS['metrics_token']}"})
        logging.getLogger("app.test").info("settings: %r", runtime.settings)
    finally:
        root.removeHandler(handler)
    raw = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "the run logged nothing: the scan would prove nothing"
    for output in (raw, stream.getvalue(), caplog.text):
        assert not CLEAR_PHONE.findall(output), CLEAR_PHONE.findall(output)
        for name, value in SECRETS.items():
            assert value not in output, name


MULTIPROCESS_SCRIPT = """
import sys
from app.db import migrate
from app.db.session import make_engine
from app.runtime import build_runtime
from app.settings import Settings
from app.web.factory import create_app
url = sys.argv[1]
migrate.upgrade(make_engine(url))
client = create_app(runtime=build_runtime(Settings(database_url=url))).test_client()
client.post("/at/ussd", data={"sessionId": "a", "serviceCode": "*9#", "text": "",
                              "phoneNumber": "+254712345678"})
print(client.get("/metrics").get_data(as_text=True))
"""


@pytest.mark.parametrize("stack", ["dev"])
def test_gunicorn_workers_counters_add_up_in_multiprocess_mode(tmp_path, stack):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    (tmp_path / "metrics").mkdir()
    outputs = [subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT,
                               f"sqlite:///{tmp_path / 'm.sqlite3'}"], env=env, check=True,
                              capture_output=True, text=True, cwd=ROOT).stdout
               for _ in range(2)]  # two processes, as two gunicorn workers
    assert sample(outputs[0], "baraza_ussd_hops_total", outcome="end") == 1
    assert sample(outputs[1], "baraza_ussd_hops_total", outcome="end") == 2
    assert sample(outputs[1], "baraza_ussd_hop_seconds_count") == 2


@pytest.mark.parametrize("stack", ["dev"])
def test_production_processes_log_json_lines_to_stderr(stack):
    script = ("import logging; from app.logs import configure_logging; "
              "configure_logging('json'); configure_logging('json'); "
              "logging.getLogger('workers').warning('reply to %s failed', '+254712345678')")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    [line] = result.stderr.splitlines()  # one handler, however often it is configured
    entry = json.loads(line)
    assert entry["message"] == "reply to +2547****5678 failed" and entry["logger"] == "workers"
