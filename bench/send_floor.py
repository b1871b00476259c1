"""The floor for bench/campaign_send.py: the least a sender that loses nothing and sends
nothing twice writes to PostgreSQL, around the same AT calls as the bare loop.

Per batch, two statements on a plain driver connection, each committed: the claim before the
call (QUEUED -> CALLING, conditional, so two workers never both send a row, and a crash during
the call leaves the rows for a person instead of a blind resend) and AT's answers after it.
No ORM, no checks for opt-outs or paused campaigns, no retries: only the writes every design
that keeps the outbox as its record must make, on the same table with its indexes. What
Baraza's sender spends above this is its own Python and its checks; what this spends above
the bare loop, PostgreSQL's share, no design on this stack avoids.

`overlapped=True` is the most such a sender can hide with one stream of requests to AT, as the
bare loop has: each batch's answers are recorded on a second connection, in a thread, while
the next batch is claimed and called (the claim cannot move: it must be committed before its
own call).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Engine

from app.channels.sms_out import SmsBackend

CLAIM = ("UPDATE outbox_messages SET status = 'calling', attempts = attempts + 1, "
         "calling_at = now() WHERE id = ANY(%s) AND status = 'queued' RETURNING id, msisdn")
RECORD = ("UPDATE outbox_messages AS o SET status = 'sent', at_message_id = v.at_id, "
          "cost = v.cost, sent_at = now() FROM json_to_recordset(%s) "
          "AS v(id integer, at_id text, cost text) WHERE o.id = v.id")


def send_floor(engine: Engine, backend: SmsBackend, sender: str, body: str,
               ids: Sequence[int], batch: int, overlapped: bool = False) -> float:
    """Seconds to claim, send and record the queued rows `ids` (one body), `batch` at a time."""
    calling, recording = engine.raw_connection(), engine.raw_connection()
    pool = ThreadPoolExecutor(max_workers=1)
    pending: Future[None] | None = None

    def record(rows: list[dict]) -> None:
        recording.cursor().execute(RECORD, (json.dumps(rows),))
        recording.commit()

    try:
        cursor = calling.cursor()
        started = time.perf_counter()
        for start in range(0, len(ids), batch):
            cursor.execute(CLAIM, (list(ids[start:start + batch]),))
            claimed = dict(cursor.fetchall())
            calling.commit()
            answers = backend.send(sender, body, list(claimed.values()))
            rows = [{"id": row_id, "at_id": answers[msisdn].message_id,
                     "cost": answers[msisdn].cost} for row_id, msisdn in claimed.items()]
            if pending is not None:
                pending.result()  # one batch being recorded at a time
            if overlapped:
                pending = pool.submit(record, rows)
            else:
                record(rows)
        if pending is not None:
            pending.result()
        return time.perf_counter() - started
    finally:
        pool.shutdown()
        calling.close()
        recording.close()
