"""Outbound SMS backends: what a provider said about each recipient, and the console backend."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.channels.phone import mask

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    ACCEPTED = "accepted"  # the provider took it: never send it again
    FAILED = "failed"  # a definite, permanent refusal
    RETRY = "retry"  # not accepted, and worth trying again later
    UNCERTAIN = "uncertain"  # the request may have reached the provider: never resent blindly
    SUPPRESS = "suppress"  # the number opted out (AT's 406): suppress it, never retry
    PAUSE = "pause"  # the account is out of credit (AT's 405): hold campaigns until a top-up


@dataclass(frozen=True)
class RecipientOutcome:
    verdict: Verdict
    status_code: int | None = None
    message_id: str | None = None
    cost: str | None = None
    error: str | None = None


class SmsBackend(Protocol):
    """Sends one body from one sender to several numbers; judges every recipient, never raises
    for provider or network trouble (that is an outcome too)."""

    name: str

    def send(self, sender: str | None, body: str,
             msisdns: Sequence[str]) -> dict[str, RecipientOutcome]: ...


class ConsoleBackend:
    """No AT credentials (development): the outbox row itself is the phone's inbox."""

    name = "console"

    def send(self, sender: str | None, body: str,
             msisdns: Sequence[str]) -> dict[str, RecipientOutcome]:
        for msisdn in msisdns:
            log.info("console SMS from %s to %s (%d chars)", sender, mask(msisdn), len(body))
        return {msisdn: RecipientOutcome(Verdict.ACCEPTED) for msisdn in msisdns}
