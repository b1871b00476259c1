"""A request id on every request: taken from X-Request-Id (a proxy's) or made, logged with
every line the request writes (app.logs), and sent back in the response."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # a header value never reaches a log unchecked


def _assign() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if _SAFE.match(given) else uuid.uuid4().hex


def _echo(response: Response) -> Response:
    if "request_id" in g:
        response.headers.setdefault(HEADER, g.request_id)
    return response


def init_app(app: Flask) -> None:
    app.before_request(_assign)
    app.after_request(_echo)
