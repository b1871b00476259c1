"""A full USSD session (dial, choose language, open a menu, go back) against a static CON.

Both go through the same Flask app and test client, so the ratio is what Baraza's hop logic
costs on top of the web stack: parsing AT's form, the session store, the engine, rendering.
The database is the development SQLite (the load benchmark in production configuration is
issue 7's).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response

from app.db import migrate
from app.db.session import make_engine
from app.runtime import build_runtime
from app.services.organizations import create_organization
from app.settings import Settings
from app.web.factory import create_app
from bench.timing import interleaved

SESSION = ["", "1", "1*4", "1*4*0", "1*4*0*1"]  # language, menu, Language menu, back, an END
ROUNDS = 300


def build_app(directory: Path):
    url = f"sqlite:///{directory / 'bench.sqlite3'}"
    migrate.upgrade(make_engine(url))
    runtime = build_runtime(Settings(database_url=url))
    with runtime.sessions.begin() as db:
        create_organization(db, code="bench", name="Bench County", country="KE",
                            currency="KES", languages=["en", "sw"], ussd_codes=["*483*9#"])
    app = create_app(runtime=runtime)
    app.add_url_rule("/static-con", "static_con", methods=["POST"],
                     view_func=lambda: Response("CON Hello\n1. One\n2. Two", mimetype="text/plain"))
    return app


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        client = build_app(Path(directory)).test_client()
        counter = iter(range(10**9))

        def baraza_session() -> None:
            session_id, phone = f"bench-{next(counter)}", f"+2547{next(counter) % 10**8:08d}"
            for text in SESSION:
                client.post("/at/ussd", data={"sessionId": session_id, "serviceCode": "*483*9#",
                                              "phoneNumber": phone, "networkCode": "63902",
                                              "text": text})

        def static_session() -> None:
            for text in SESSION:
                client.post("/static-con", data={"sessionId": "s", "serviceCode": "*483*9#",
                                                 "phoneNumber": "+254700000000", "text": text})

        baraza_session()  # warm up caches and the first-dial path
        base, subject = interleaved(static_session, baraza_session, ROUNDS)
    hops = len(SESSION)
    print(f"ussd_hops: {ROUNDS} sessions x {hops} hops, SQLite, in-process session store")
    print(f"  static CON hop:   {base / hops * 1e3:7.3f} ms")
    print(f"  Baraza hop:       {subject / hops * 1e3:7.3f} ms")
    print(f"  ratio static/Baraza: {base / subject:.2f} (1.00 = as fast as a static reply)")
