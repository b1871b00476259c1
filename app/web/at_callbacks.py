"""Africa's Talking callbacks. Each checks the URL token, parses AT's form, calls one service."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy.exc import IntegrityError

from app.channels.at_forms import UssdEnd, UssdHop
from app.db.models import Channel, UssdSessionEvent
from app.services import organizations

log = logging.getLogger(__name__)
bp = Blueprint("at", __name__, url_prefix="/at")


def _runtime():
    return current_app.extensions["baraza"]


@bp.before_request
def require_callback_token() -> None:
    """AT signs nothing: a long secret in every callback URL is what keeps strangers out."""
    expected = _runtime().settings.callback_token
    if expected is None:
        return
    given = request.args.get("token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403)


def plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.post("/ussd")
def ussd_hop() -> Response:
    return plain(_runtime().ussd.answer_safely(UssdHop.from_form(request.form)))


@bp.post("/ussd/events")
def ussd_session_ended() -> Response:
    event = UssdEnd.from_form(request.form)
    if not event.session_id:
        return plain("missing sessionId", 400)
    runtime = _runtime()
    try:
        with runtime.sessions.begin() as db:
            org = organizations.organization_for(db, Channel.USSD, event.service_code)
            db.add(UssdSessionEvent(
                session_id=event.session_id, organization_id=org.id if org else None,
                msisdn=event.phone_number[:20] or None, service_code=event.service_code or None,
                status=event.status or "unknown", hops=event.hops, duration_ms=event.duration_ms,
                cost=event.cost or None, error_message=event.error_message or None,
                payload=event.payload,
            ))
    except IntegrityError:
        pass  # AT sent this session's notification before: it is stored once
    return plain("OK")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
