"""One USSD hop: find the session, work out the new input, step the engine, apply, answer.

AT sends the whole session's input on every hop (`1*2*4`). We keep the last `text` with
the session, so the new input is what `text` grew by (free text may itself hold a `*`), and a
hop that repeats the last `text` is a retry: it gets the stored reply and changes nothing.
When there is no stored session and `text` holds one input (a code dialled with its answer
built in, `*483*1*1#`, or a store lost after the first hop), that input is applied from the
start. With more inputs the session is over: earlier hops may have changed what lookups
answer (a language or ward just saved), so replaying them could walk a different path. The
voter is asked to dial again, and unconfirmed ballot choices come back from their draft.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from app.channels.at_forms import UssdHop
from app.channels.phone import InvalidPhoneNumber, mask, normalise_msisdn
from app.db.models import Channel, Contact
from app.engine import Engine, State, Turn
from app.engine.flow import N_
from app.engine.render import to_gsm7
from app.services import organizations
from app.services.flow_host import (
    EFFECT_HANDLERS,
    EffectContext,
    EffectHandler,
    apply_effects,
    caller_vars,
    organization_vars,
)
from app.services.hop_cache import HopCache
from app.services.hop_db import HopSessions, hop_sessions
from app.services.ussd_sessions import Envelope, SessionStore

log = logging.getLogger(__name__)

MAX_REPLAYED_INPUTS = 1  # see the module docstring: more could replay a different path
UNKNOWN_CODE = "This service code is not in use."
BAD_NUMBER = "Sorry, we could not read your phone number."
DIAL_AGAIN = N_("Your session has expired. Please dial again.")
FAILED = "Sorry, something went wrong. Please try again."


@dataclass(frozen=True)
class Service:
    """What a session's first hop needs of the organization behind a USSD code."""

    organization_id: int
    country: str
    default_language: str
    vars: Mapping[str, str]  # organization_vars

    @classmethod
    def load(cls, db: Session, service_code: str) -> Service | None:
        organization = organizations.organization_for(db, Channel.USSD, service_code)
        if organization is None:
            return None
        # Everything in it comes from organizations, addresses and cycles (whether ideas
        # are collected): reference data, so the cache sees an officer's change.
        return cls(organization.id, organization.country, organization.default_language,
                   organization_vars(db, organization))


def con(text: str) -> str:
    return f"CON {text}"


def end(text: str) -> str:
    return f"END {to_gsm7(text)}"


@dataclass
class UssdGateway:
    engine: Engine
    store: SessionStore
    sessions: sessionmaker[Session] | HopSessions
    gettext_for: Callable[[str], Callable[[str], str]]
    handlers: Mapping[str, EffectHandler] = field(default_factory=lambda: dict(EFFECT_HANDLERS))
    # Hands SMS queued by effects (receipts) to the sender, after commit; never AT in a hop.
    send_replies: Callable[[Sequence[int]], None] | None = None
    # The organization behind each code, kept under the reference data revision; without
    # one (HopCache(None)) it is read on every first hop.
    cache: HopCache = field(default_factory=lambda: HopCache(None))

    def answer_safely(self, hop: UssdHop) -> str:
        """`answer`, but a failure ends the session politely instead of breaking AT's rules."""
        try:
            return self.answer(hop)
        except Exception:
            # Anything but CON/END ends the session with an error on the phone; END says sorry.
            log.exception("USSD hop failed (session %s)", hop.session_id[:40])
            return end(FAILED)

    def __post_init__(self) -> None:
        self.sessions = hop_sessions(self.sessions)  # shared with the lookups' PbFlows

    def answer(self, hop: UssdHop) -> str:
        """The full reply body for a hop, starting with CON or END."""
        with self.sessions.hop():  # one database session for the whole hop (app.services.hop_db)
            return self._answer(hop)

    def _answer(self, hop: UssdHop) -> str:
        if not hop.session_id:
            return end(FAILED)
        envelope = self.store.get(hop.session_id)
        if envelope and (hop.text == envelope.last_text or envelope.last_reply.startswith("END")
                         or _earlier(envelope.last_text, hop.text)):
            # A retry, or a copy of an earlier hop held up on the way after the caller moved
            # on (nobody reads its answer): either way the session stays as it is.
            return envelope.last_reply
        if envelope and _grows(envelope.last_text, hop.text):
            new_input = hop.text[len(envelope.last_text) + 1:] if envelope.last_text else hop.text
            turn = self.engine.resume(State.from_dict(envelope.state), new_input)
            return self._finish(hop, envelope.organization_id, turn)
        return self._begin(hop)

    def _begin(self, hop: UssdHop) -> str:
        with self.sessions() as db:
            service = self.cache.get(("ussd_service", hop.service_code),
                                     lambda: Service.load(db, hop.service_code))
            if service is None:
                log.info("USSD hop for unknown service code %r", hop.service_code[:40])
                return end(UNKNOWN_CODE)
            try:
                msisdn = normalise_msisdn(hop.phone_number, service.country)
            except InvalidPhoneNumber:
                log.info("USSD hop with unreadable number %s", mask(hop.phone_number))
                return end(BAD_NUMBER)
            contact = db.execute(_CALLER, {"organization_id": service.organization_id,
                                           "msisdn": msisdn}).first()
            language = (contact.language if contact and contact.language
                        else service.default_language)
            caller = caller_vars(db, service.organization_id, msisdn if contact else None,
                                 contact.language if contact else None)
            vars = {**service.vars, **caller, "session_id": hop.session_id[:100]}
        inputs = hop.text.split("*") if hop.text else []
        if len(inputs) > MAX_REPLAYED_INPUTS:
            return end(self.gettext_for(language)(DIAL_AGAIN))
        turn = self.engine.start(msisdn, language, vars)
        for user_input in inputs:
            turn = self.engine.resume(turn.state, user_input)
        return self._finish(hop, service.organization_id, turn)

    def _finish(self, hop: UssdHop, organization_id: int, turn: Turn) -> str:
        outbox_ids: list[int] = []
        if turn.effects:
            with self.sessions.begin() as db:
                ctx = EffectContext(organization_id, turn.state.msisdn, hop.session_id[:100])
                outbox_ids = apply_effects(db, ctx, turn.effects, self.handlers)
        reply = end(turn.reply.text) if turn.reply.end else con(turn.reply.text)
        self.store.put(hop.session_id,
                       Envelope(organization_id, turn.state.to_dict(), hop.text, reply))
        if outbox_ids and self.send_replies is not None:
            try:
                self.send_replies(outbox_ids)
            except Exception:
                # Committed and queued: the rows wait in the outbox; the reply still goes out.
                log.exception("USSD session %s: SMS queued but not handed over",
                              hop.session_id[:40])
        return reply


_CALLER = select(Contact.__table__.c.language).where(
    Contact.__table__.c.organization_id == bindparam("organization_id"),
    Contact.__table__.c.msisdn == bindparam("msisdn"))  # built once: cheaper to run


def _earlier(last_text: str, text: str) -> bool:
    """`text` is what the session sent some hops ago: AT's text only ever grows."""
    return bool(last_text) and (not text or last_text.startswith(text + "*"))


def _grows(last_text: str, text: str) -> bool:
    if not last_text:
        return bool(text)
    return text.startswith(last_text + "*")
