"""The phone simulator: dial an organization's USSD code and read the SMS a number received.

Hops go through the same gateway as AT's callback, so the screens are exactly what AT would
deliver. Only in development, or when BARAZA_SIMULATOR is set: it lets anyone act as any phone.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request
from sqlalchemy import select

from app.channels.at_forms import InboundSmsForm, UssdHop
from app.channels.phone import InvalidPhoneNumber, normalise_msisdn
from app.db.base import utcnow
from app.db.models import Channel, Organization, OutboxMessage
from app.services import inbound_sms, organizations

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates")
INBOX_SIZE = 20


def _runtime():
    return current_app.extensions["baraza"]


@bp.before_request
def only_when_enabled() -> None:
    if not _runtime().settings.simulator_enabled:
        abort(404)


@bp.get("/")
def page():
    with _runtime().sessions() as db:
        orgs = db.scalars(select(Organization).order_by(Organization.name)).all()
        phones = [
            {"org": o.code, "name": o.name, "ussd": o.addresses_for(Channel.USSD),
             "sms": o.addresses_for(Channel.SMS)}
            for o in orgs
        ]
    return render_template("simulator.html", organizations=phones)


@bp.post("/ussd")
def ussd():
    """One hop: the browser keeps `text` cumulative, as AT does."""
    data = _posted_object()
    # Read as AT's callback reads its form: the same limits, and no NUL reaches the database.
    hop = UssdHop.from_form({"sessionId": _text(data, "session_id"),
                             "serviceCode": _text(data, "service_code"),
                             "phoneNumber": _text(data, "phone"), "networkCode": "63902",
                             "text": _text(data, "text")})
    return jsonify(reply=_runtime().ussd.answer_safely(hop))


@bp.post("/sms")
def sms():
    """The phone texts the organization's short code: stored and handled as AT's callback does."""
    data = _posted_object()
    with _runtime().sessions() as db:
        organization = _organization(db, _text(data, "service_code"))
        short_code = next(iter(organization.addresses_for(Channel.SMS)), None)
    if short_code is None:
        return jsonify(error="this organization has no SMS short code"), 400
    form = InboundSmsForm.from_form({
        "id": f"SIM{secrets.token_hex(10)}", "from": _text(data, "phone"), "to": short_code,
        "text": _text(data, "text")[:1000], "networkCode": "63902", "linkId": "",
        "date": utcnow().strftime("%Y-%m-%d %H:%M:%S")})
    runtime = _runtime()
    received = inbound_sms.receive_sms(runtime.sessions, form)
    if received.needs_handling:
        runtime.dispatcher.handle_inbound_sms(received.inbound_id)
    return jsonify(stored=True, to=short_code)


@bp.get("/session")
def new_session():
    return jsonify(session_id=f"SIM{secrets.token_hex(8)}")


@bp.get("/inbox")
def inbox():
    """The SMS a number received from an organization (console backend or AT alike)."""
    with _runtime().sessions() as db:
        organization = _organization(db, request.args.get("service_code", ""))
        try:
            msisdn = normalise_msisdn(request.args.get("phone", ""), organization.country)
        except InvalidPhoneNumber as exc:
            return jsonify(error=str(exc), messages=[]), 400
        rows = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.organization_id == organization.id,
                   OutboxMessage.msisdn == msisdn)
            .order_by(OutboxMessage.id.desc()).limit(INBOX_SIZE)
        ).all()
        messages = [{"from": m.sender or organization.sms_sender, "body": m.body,
                     "status": m.status, "at": m.created_at.isoformat()} for m in rows]
    return jsonify(messages=messages)


def _posted_object() -> dict:
    """The page posts a JSON object; anything else (a list, a string, a number) is empty."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _organization(db, service_code: str) -> Organization:
    organization = organizations.organization_for(db, Channel.USSD, service_code)
    if organization is None:
        abort(404)
    return organization


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
