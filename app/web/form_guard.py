"""No NUL from a browser: PostgreSQL text cannot hold one, so a path, query or form carrying it
would fail deep in a view (a 500). Browsers never send one; such a request is refused with 400
before any view reads it.

AT's callbacks are not refused: their parsers replace NUL (app.channels.at_forms), because a
callback answered 400 is stored nowhere and AT would give up on it.
"""

from __future__ import annotations

from flask import Flask, Response, request

CALLBACK_BLUEPRINTS = frozenset({"at", "at_voice"})
REFUSED = "This request contains a character that cannot be stored (NUL). Remove it and try again."


def _refuse_nul() -> Response | None:
    if request.blueprint in CALLBACK_BLUEPRINTS:
        return None
    values = [*request.args.items(multi=True), *request.form.items(multi=True),
              *(request.view_args or {}).items()]  # a path part too: /results/ma%00keni
    if any("\x00" in key or "\x00" in str(value) for key, value in values):
        return Response(REFUSED, status=400, mimetype="text/plain")
    return None


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
