"""STOP (ACHA) and START (ANZA): a resident opts out of notices and campaigns, and back in.

Not advertised in HELP: AT itself appends opt-out instructions to a sender's first message,
and every keyword is accepted in every language. The confirmation is a reply to the message
just received, so it goes out although the number is now suppressed (app.services.outbox).
"""

from __future__ import annotations

from app.db.models import SuppressionSource
from app.engine.flow import N_
from app.services import suppressions
from app.services.sms_basics import fill
from app.services.sms_keywords import Keyword, KeywordRegistry, SmsRequest

STOPPED = N_("You will get no more messages from {org_name}. To receive them again, send "
             "{start} to {short_code}.")
STARTED = N_("You will receive messages from {org_name} again. To stop them, send {stop} to "
             "{short_code}.")

STOP_WORDS = {"en": "STOP", "sw": "ACHA"}
START_WORDS = {"en": "START", "sw": "ANZA"}


def stop(request: SmsRequest) -> str:
    """Suppress the number for this organization, then confirm in the sender's language."""
    suppressions.suppress(request.db, request.organization.id, request.contact.msisdn,
                          SuppressionSource.STOP)
    return _confirm(request, STOPPED)


def start(request: SmsRequest) -> str:
    """Lift the number's suppression (if any) and confirm."""
    suppressions.lift(request.db, request.organization.id, request.contact.msisdn)
    return _confirm(request, STARTED)


def _confirm(request: SmsRequest, message: str) -> str:
    language = request.language
    _ = request.gettext_for(language)
    return fill(_(message), {"org_name": request.organization.name,
                             "short_code": request.short_code,
                             "start": START_WORDS.get(language, START_WORDS["en"]),
                             "stop": STOP_WORDS.get(language, STOP_WORDS["en"])})


def register(registry: KeywordRegistry) -> None:
    registry.register(Keyword(STOP_WORDS, stop, aliases=("STOPALL", "UNSUBSCRIBE")))
    registry.register(Keyword(START_WORDS, start, aliases=("SUBSCRIBE",)))
