"""The ceiling for bench/ussd_load.py: the same gunicorn and Flask answering a static `CON`.

`gunicorn bench.static_ceiling:app` with the settings Baraza runs under. It reads AT's form,
as Baraza's /at/ussd does, and answers the same menu every time: whatever Baraza's hop costs
on top of this (token check, the session store, the engine, the database) is the difference.
"""

from __future__ import annotations

from flask import Flask, Response, request

REPLY = "CON Bench County\n1. Vote on the budget\n2. Projects in my ward\n3. Complaints"

app = Flask(__name__)


@app.post("/at/ussd")
def static_con() -> Response:
    parsed = "sessionId" in request.form  # parse AT's form, as Baraza does
    return Response(REPLY if parsed else "END Missing sessionId", mimetype="text/plain")
