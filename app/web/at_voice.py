"""POST /at/voice: AT's callbacks for the feedback line, answered with voice XML."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, request

from app.channels.at_voice import CONTENT_TYPE, VoiceForm
from app.db.models import SendLane
from app.digits import whole_or_none
from app.tickets.voice_config import VoiceConfig
from app.tickets.voice_line import Callback, VoiceLine
from app.web.at_callbacks import require_callback_token

bp = Blueprint("at_voice", __name__, url_prefix="/at")
bp.before_request(require_callback_token)  # the same URL secret as every AT callback


def voice_line(runtime) -> VoiceLine:
    """Built per callback from the runtime's current settings (cheap: no I/O)."""
    return VoiceLine(runtime.sessions, runtime.desk,
                     VoiceConfig.from_settings(runtime.settings),
                     send_notices=lambda ids: runtime.dispatcher.send_sms(ids, SendLane.NOTICE))


@bp.post("/voice")
def voice_call() -> Response:
    runtime = current_app.extensions["baraza"]
    callback = Callback(VoiceForm.from_form(request.form), turn=_turn(),
                        reply_url=_reply_url(runtime.settings.is_production))
    xml = voice_line(runtime).answer_safely(callback)
    return Response(xml, status=200, mimetype=CONTENT_TYPE)


def _turn() -> int | None:
    raw = request.args.get("turn", "")
    return whole_or_none(raw, 6)


def _reply_url(production: bool) -> str:
    """This endpoint as AT reached it, with its token: where GetDigits and Record post next.

    In production always https: behind a TLS proxy that BARAZA_TRUSTED_PROXIES does not
    name, the request looks like http, and AT must never be told to post the token in clear.
    """
    base = request.base_url
    if production and base.startswith("http://"):
        base = "https://" + base[len("http://"):]
    token = request.args.get("token")
    return f"{base}?{urlencode({'token': token})}" if token else base


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
