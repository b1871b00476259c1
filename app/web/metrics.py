"""GET /metrics in Prometheus text format: USSD hops, inbound SMS, the outbox and the queues.

Counters and the hop histogram are counted in this process by request hooks (so the callback
views stay as they are); the outbox and the queues are read when Prometheus scrapes, with one
GROUP BY and a few Redis calls, so the numbers are the database's and never drift.

Under gunicorn each worker process counts its own requests: set PROMETHEUS_MULTIPROC_DIR to an
empty directory (wiped at every start) in gunicorn's environment and prometheus_client adds up
every process's files at scrape (see README, Production).

Who may scrape: with METRICS_TOKEN set (required in production), a request carrying
`Authorization: Bearer <token>`; without it, only the loopback address.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db.models import OutboxMessage

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
EXTENSION = "baraza_metrics"
LOOPBACK = frozenset({"127.0.0.1", "::1"})
# A hop should take a few milliseconds; AT gives up on an answer after a few seconds.
HOP_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_TIMED = {"at.ussd_hop", "at.sms_received", "at_voice.voice_call"}


class Metrics:
    """This app's counters, in a registry of its own (tests build many apps)."""

    def __init__(self, runtime) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ussd_hops = Counter("baraza_ussd_hops", "USSD hops answered, by outcome "
                                 "(con, end, refused, error)", ["outcome"],
                                 registry=self.registry)
        self.hop_seconds = Histogram("baraza_ussd_hop_seconds", "Time to answer one USSD hop",
                                     buckets=HOP_BUCKETS, registry=self.registry)
        self.sms_inbound = Counter("baraza_sms_inbound", "Inbound SMS callbacks, by result "
                                   "(stored, rejected, failed)", ["result"],
                                   registry=self.registry)
        self.voice_callbacks = Counter("baraza_voice_callbacks", "Voice callbacks answered, by "
                                       "kind (step, final, refused)", ["kind"],
                                       registry=self.registry)
        self.scraped = ScrapeCollector(runtime)
        self.registry.register(self.scraped)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's counters
            registry.register(self.scraped)
            return generate_latest(registry)
        return generate_latest(self.registry)


class ScrapeCollector(Collector):
    """Gauges read at scrape: outbox rows and AT status codes from the database, rq queues."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def describe(self) -> list[Metric]:
        return []  # computed at scrape: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("baraza_metrics_source_up",
                               "1 when the source could be read at this scrape", labels=["source"])
        up.add_metric(["database"], 1.0 if (yield from self._outbox()) else 0.0)
        if self.runtime.redis is not None:
            up.add_metric(["redis"], 1.0 if (yield from self._queues()) else 0.0)
        yield up

    def _outbox(self) -> Iterator[Metric]:
        statement = (select(OutboxMessage.lane, OutboxMessage.status, OutboxMessage.status_code,
                            func.count())
                     .group_by(OutboxMessage.lane, OutboxMessage.status,
                               OutboxMessage.status_code))
        try:
            with self.runtime.sessions() as db:
                rows = db.execute(statement).all()
        except Exception:  # noqa: BLE001 - a scrape reports the database down, never a 500
            log.warning("metrics: the outbox could not be read", exc_info=True)
            return False
        by_status: dict[tuple[str, str], int] = {}
        by_code: dict[str, int] = {}
        for lane, status, code, count in rows:
            key = (str(lane), str(status))
            by_status[key] = by_status.get(key, 0) + count
            if code is not None:
                by_code[str(code)] = by_code.get(str(code), 0) + count
        rows_gauge = GaugeMetricFamily("baraza_outbox_messages", "Outbox rows by lane and status",
                                       labels=["lane", "status"])
        for (lane, status), count in sorted(by_status.items()):
            rows_gauge.add_metric([lane, status], count)
        yield rows_gauge
        codes = GaugeMetricFamily("baraza_sms_sends_by_status_code",
                                  "Outbox rows by the status code AT gave their send "
                                  "(101 sent, 102 queued, 4xx/5xx refused)",
                                  labels=["status_code"])
        for code, count in sorted(by_code.items()):
            codes.add_metric([code], count)
        yield codes
        return True

    def _queues(self) -> Iterator[Metric]:
        from rq import Queue

        from app.services.dispatch import QUEUES

        depth = GaugeMetricFamily("baraza_queue_jobs", "Jobs waiting in each rq queue",
                                  labels=["queue"])
        failed = GaugeMetricFamily("baraza_queue_failed_jobs",
                                   "Jobs in each rq queue's failed registry", labels=["queue"])
        try:
            for name in QUEUES:
                queue = Queue(name, connection=self.runtime.redis)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], queue.failed_job_registry.count)
        except Exception:  # noqa: BLE001
            log.warning("metrics: the queues could not be read", exc_info=True)
            return False
        yield depth
        yield failed
        return True


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.extensions["baraza"].settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(403)
    elif request.remote_addr not in LOOPBACK:
        abort(403)
    body = current_app.extensions[EXTENSION].exposition()
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    if request.endpoint in _TIMED:
        g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    metrics: Metrics = current_app.extensions[EXTENSION]
    if request.endpoint == "at.ussd_hop":
        metrics.hop_seconds.observe(time.perf_counter() - started)
        metrics.ussd_hops.labels(_hop_outcome(response)).inc()
    elif request.endpoint == "at_voice.voice_call":
        metrics.voice_callbacks.labels(_voice_kind(response.status_code)).inc()
    else:
        metrics.sms_inbound.labels(_sms_result(response.status_code)).inc()
    return response


def _hop_outcome(response: Response) -> str:
    if response.status_code in (401, 403):
        return "refused"
    if response.status_code != 200:
        return "error"
    head = response.get_data()[:4]
    return {b"CON ": "con", b"END ": "end"}.get(head, "error")


def _voice_kind(status: int) -> str:
    if status != 200:
        return "refused"
    return "final" if request.form.get("isActive") == "0" else "step"


def _sms_result(status: int) -> str:
    if status == 200:
        return "stored"
    return "rejected" if status < 500 else "failed"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Metrics(app.extensions["baraza"])
    # App-level hooks: they see the callbacks' requests without touching their views, and the
    # 403 of a wrong callback token too (a blueprint's before_request aborts before its own).
    app.before_request(_start_timer)
    app.after_request(_count)
    app.register_blueprint(bp)
