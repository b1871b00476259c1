"""The floor for bench/ussd_load.py: the static ceiling's Flask, plus the USSD session in Redis.

`gunicorn bench.session_floor:app` with the settings Baraza runs under. Each hop reads AT's
form, reads its session through Baraza's own store (app.services.ussd_sessions, the same
Redis client settings as app.runtime), writes it back with the new `text` and answers a fixed
`CON`. Every USSD hop of Baraza does at least this much: AT sends the session's whole input
each time, so telling a retry from a new input, and a step from the one before, needs the last
`text` and state kept between hops. What Baraza's hops cost on top of this is the flow engine,
the translations and the database.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

from app.runtime import connect_redis
from app.services.ussd_sessions import Envelope, RedisSessionStore

REPLY = "CON Bench County\n1. Vote on the budget\n2. Projects in my ward\n3. Complaints"
# The engine's state after the main menu of a voting session (its size, not its meaning).
STATE = {"position": {"flow": "main", "node": "menu", "page": 0}, "msisdn": "+254700000000",
         "language": "en", "answers": {},
         "vars": {"org_name": "Bench County", "organization_id": "1", "voice_number": "",
                  "currency": "KES", "ideas_open": "", "contact_language": "",
                  "pmc_member": "", "session_id": "ATUid_bench"}, "history": []}

app = Flask(__name__)
store = RedisSessionStore(connect_redis(os.environ["REDIS_URL"]), ttl_seconds=300)


@app.post("/at/ussd")
def stored_con() -> Response:
    session_id = request.form.get("sessionId", "")
    if not session_id:
        return Response("END Missing sessionId", mimetype="text/plain")
    envelope = store.get(session_id)
    state = envelope.state if envelope else STATE
    store.put(session_id, Envelope(1, state, request.form.get("text", ""), REPLY))
    return Response(REPLY, mimetype="text/plain")
