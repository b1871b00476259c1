"""Sending SMS through Africa's Talking with the official SDK, judged recipient by recipient.

The SDK hard-codes AT's hosts; `_baseUrl` is read at every call, so pointing it at another
AT-compatible server (staging, the tests' fake) is one assignment, kept here and nowhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from africastalking.Service import AfricasTalkingException, validate_phone
from africastalking.SMS import SMSService
from urllib3.exceptions import ConnectTimeoutError

from app.channels.phone import mask
from app.channels.sms_out import RecipientOutcome, Verdict

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 9.05)  # (connect, read) seconds, the SDK's own default
MAX_ERROR = 500

ACCEPTED_CODES = frozenset({100, 101, 102})  # Processed, Sent, Queued
# Worth another try later: AT's own trouble, DND hours.
RETRY_CODES = frozenset({409, 500, 501})
PAUSE_CODES = frozenset({405})  # InsufficientBalance: campaigns wait for a top-up, others retry
SUPPRESS_CODES = frozenset({406})  # UserInBlacklist: the number opted out of this sender
# Everything else (401 RiskHold, 402 InvalidSenderId, 403, 404, 407, 502, and codes AT may
# add) is final: a resend could not change AT's answer.
ALERT_CODES = frozenset({401, 402, 405})  # the whole account is affected: somebody must look


class AtSmsBackend:
    name = "at"

    def __init__(self, service: SMSService, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.service = service
        self.timeout = timeout

    @classmethod
    def connect(cls, username: str, api_key: str, api_url: str | None = None,
                timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> AtSmsBackend:
        """The SDK service, built once; `api_url` replaces AT's host (…/version1 is added)."""
        service = SMSService(username, api_key)
        if api_url:
            service._baseUrl = api_url.rstrip("/") + "/version1"
        return cls(service, timeout)

    def send(self, sender: str | None, body: str,
             msisdns: Sequence[str]) -> dict[str, RecipientOutcome]:
        outcomes = {m: RecipientOutcome(Verdict.FAILED, error="not an E.164 number")
                    for m in msisdns if not validate_phone(m)}
        numbers = [m for m in msisdns if m not in outcomes]
        if numbers:
            outcomes.update(self._post(sender, body, numbers))
        return outcomes

    def _post(self, sender: str | None, body: str,
              numbers: list[str]) -> dict[str, RecipientOutcome]:
        try:
            reply = self.service.send(body, numbers, sender_id=sender, timeout=self.timeout)
        except requests.JSONDecodeError:
            # A 2xx that claims JSON but is not: AT may well have sent it, so do not resend.
            return _all(numbers, RecipientOutcome(Verdict.FAILED, error="unreadable AT reply"))
        except AfricasTalkingException as exc:
            # The SDK keeps only the body of a non-2xx answer: nothing was accepted.
            return _all(numbers, RecipientOutcome(Verdict.RETRY, error=_cut(f"AT: {exc}")))
        except requests.RequestException as exc:
            # AT has no idempotency key: once the request may have left, a resend could reach
            # the phone twice, so only a connection that never opened is worth a retry.
            verdict = Verdict.RETRY if never_left(exc) else Verdict.UNCERTAIN
            return _all(numbers, RecipientOutcome(verdict,
                                                  error=_cut(f"network: {type(exc).__name__}")))
        recipients = _recipients(reply)
        if recipients is None:
            return _all(numbers, RecipientOutcome(Verdict.FAILED, error="unreadable AT reply"))
        return {number: judge(recipients.get(number)) for number in numbers}


def judge(entry: Mapping[str, Any] | None) -> RecipientOutcome:
    """One entry of SMSMessageData.Recipients as an outcome."""
    if entry is None:
        return RecipientOutcome(Verdict.FAILED, error="missing from AT's reply")
    code = _int(entry.get("statusCode"))
    status = str(entry.get("status") or "")[:50]
    if code in ACCEPTED_CODES:
        return RecipientOutcome(Verdict.ACCEPTED, code, _text(entry.get("messageId"), 100),
                                _text(entry.get("cost"), 30))
    if code in ALERT_CODES:
        log.error("AT refused a send with %s %s: check the account", code, status)
    if code in RETRY_CODES:
        verdict = Verdict.RETRY
    elif code in PAUSE_CODES:
        verdict = Verdict.PAUSE
    elif code in SUPPRESS_CODES:
        verdict = Verdict.SUPPRESS
    else:
        verdict = Verdict.FAILED
    return RecipientOutcome(verdict, code, error=status or "unknown status")


def never_left(exc: requests.RequestException) -> bool:
    """True when the request surely never reached AT: the connection did not open (refused,
    unresolvable, connect timeout). A read timeout or a dropped answer may hide a send."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too
    return isinstance(exc, (requests.URLRequired, requests.exceptions.InvalidURL,
                            requests.exceptions.MissingSchema))


def _recipients(reply: object) -> dict[str, Mapping[str, Any]] | None:
    if isinstance(reply, str):  # the SDK parses JSON only for an exact application/json type
        try:
            reply = json.loads(reply)
        except ValueError:
            return None
    try:
        entries = reply["SMSMessageData"]["Recipients"]  # type: ignore[index]
        return {str(e["number"]): e for e in entries}
    except (KeyError, TypeError):
        return None


def _all(numbers: list[str], outcome: RecipientOutcome) -> dict[str, RecipientOutcome]:
    log.warning("AT send for %s not accepted: %s", ", ".join(mask(n) for n in numbers[:3]),
                outcome.error)
    return dict.fromkeys(numbers, outcome)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _text(value: object, limit: int) -> str | None:
    # AT writes "None" / "0" for recipients it did not accept; store only real values.
    return str(value)[:limit] if value not in (None, "", "None") else None


def _cut(text: str) -> str:
    return text[:MAX_ERROR]
