"""Africa's Talking callbacks. Each checks the URL token, parses AT's form, calls one service."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, Request, Response, abort, current_app, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.channels.at_forms import (
    DeliveryReportForm,
    InboundSmsForm,
    OptOutForm,
    UssdEnd,
    UssdHop,
)
from app.db.models import Channel, UssdSessionEvent
from app.services import delivery_reports, inbound_sms, opt_out, organizations

log = logging.getLogger(__name__)
bp = Blueprint("at", __name__, url_prefix="/at")

MAX_SESSION_ID = 100  # the column's size; AT's session ids are far shorter


class CallbackSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, but none for AT's callbacks: AT sends no cookie, and opening
    a session builds a signing serializer on every request (a tenth of a ms on a USSD hop)."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith(f"{bp.url_prefix}/"):
            return self.null_session_class()
        return super().open_session(app, request)


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
    if not event.session_id or len(event.session_id) > MAX_SESSION_ID:
        return plain("missing or invalid sessionId", 400)
    runtime = _runtime()
    try:
        with runtime.sessions.begin() as db:
            org = organizations.organization_for(db, Channel.USSD, event.service_code)
            db.add(UssdSessionEvent(
                session_id=event.session_id, organization_id=org.id if org else None,
                msisdn=event.phone_number[:20] or None,
                service_code=event.service_code[:40] or None,
                status=event.status or "unknown", hops=event.hops, duration_ms=event.duration_ms,
                cost=event.cost or None, error_message=event.error_message or None,
                payload=event.payload,
            ))
    except IntegrityError:
        pass  # AT sent this session's notification before: it is stored once
    except SQLAlchemyError:
        log.exception("USSD session %s end could not be stored", event.session_id[:40])
        return plain("not stored, try again", 500)
    return plain("OK")


@bp.post("/sms")
def sms_received() -> Response:
    """Store first, answer 200 at once; a worker replies. A 5xx only when the message is not
    stored or not handed to a worker: AT then delivers it again."""
    form = InboundSmsForm.from_form(request.form)
    if not form.at_id or len(form.at_id) > inbound_sms.MAX_AT_ID:
        return plain("missing or invalid id", 400)
    runtime = _runtime()
    try:
        received = inbound_sms.receive_sms(runtime.sessions, form)
    except SQLAlchemyError:
        log.exception("inbound SMS %s could not be stored", form.at_id[:40])
        return plain("not stored, try again", 500)
    if received.needs_handling:
        try:
            runtime.dispatcher.handle_inbound_sms(received.inbound_id)
        except Exception:
            # Stored but not handed over (Redis down): AT's retry hands it over again.
            log.exception("inbound SMS %s stored but not queued", form.at_id[:40])
            return plain("stored, not queued, try again", 500)
    return plain("OK")


@bp.post("/sms/delivery")
def sms_delivery_report() -> Response:
    """Stored (known id or not) and applied at once; 200 unless it could not be stored."""
    form = DeliveryReportForm.from_form(request.form)
    if not form.at_id:
        return plain("missing id", 400)
    try:
        delivery_reports.receive_report(_runtime().sessions, form)
    except SQLAlchemyError:
        log.exception("delivery report %s could not be stored", form.at_id[:40])
        return plain("not stored, try again", 500)
    return plain("OK")


@bp.post("/sms/optout")
def sms_opted_out() -> Response:
    """AT's opt-out notification: suppress the number for every organization sending as
    `senderId` (none is ours: still 200, there is nothing AT could fix by retrying)."""
    form = OptOutForm.from_form(request.form)
    if not form.sender_id or not form.phone_number:
        return plain("missing senderId or phoneNumber", 400)
    try:
        opt_out.opt_out_callback(_runtime().sessions, form)
    except SQLAlchemyError:
        log.exception("opt-out for sender %s could not be stored", form.sender_id)
        return plain("not stored, try again", 500)
    return plain("OK")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.session_interface = CallbackSessions()
