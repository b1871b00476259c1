"""AT's callbacks as raw forms, delivered as AT can deliver them: each one twice, some late.

What AT can do, and so what a schedule may do:
- a USSD session or a voice call is a thread: its steps arrive in order (the phone waits for
  each reply), and AT may post a step again (a retry) before the next one; with `stale=True` a
  copy of an earlier step may also turn up after later ones (a request held up on the way);
- inbound SMS, delivery reports, opt-outs and session-end notifications arrive in any order,
  any number of times (AT retries until it gets a 200); a test may still thread SMS whose
  order it needs (a resident's STOP before their START).

The schedule is a seeded shuffle, so a failing seed replays exactly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tests.factories import MAKUENI_USSD
from tests.sms_support import MAKUENI_SMS, sms_form
from tests.voice_support import final_form, voice_form

USSD, USSD_EVENTS, SMS, DELIVERY = "/at/ussd", "/at/ussd/events", "/at/sms", "/at/sms/delivery"
VOICE, OPTOUT = "/at/voice", "/at/sms/optout"


@dataclass(frozen=True)
class Callback:
    path: str
    form: dict[str, str] = field(hash=False)
    thread: str = ""  # callbacks of one thread keep their order; "" = no order at all


def ussd_session(session_id: str, msisdn: str, inputs: Sequence[str],
                 service_code: str = MAKUENI_USSD) -> list[Callback]:
    """Every hop of one session, `text` growing as AT grows it, then AT's end notification."""
    texts = ["*".join(inputs[:n]) for n in range(len(inputs) + 1)]
    hops = [ussd_hop(session_id, msisdn, text, service_code) for text in texts]
    ended = Callback(USSD_EVENTS, {
        "date": "2026-11-22 08:00:00", "sessionId": session_id, "serviceCode": service_code,
        "networkCode": "63902", "phoneNumber": msisdn, "status": "Success", "cost": "KES 0.0",
        "durationInMillis": "30000", "hopsCount": str(len(texts)), "input": texts[-1],
        "lastAppResponse": "", "errorMessage": ""})
    return [*hops, ended]


def ussd_hop(session_id: str, msisdn: str, text: str,
             service_code: str = MAKUENI_USSD) -> Callback:
    return Callback(USSD, {"sessionId": session_id, "serviceCode": service_code,
                           "phoneNumber": msisdn, "networkCode": "63902", "text": text},
                    thread=session_id)


def voice_complaint(session_id: str, caller: str, recording_url: str) -> list[Callback]:
    """A call to the feedback line that leaves a complaint: the call, "1", the recording (each
    POSTed to the callbackUrl of the reply before), then AT's final notification."""
    def step(path: str, **fields: str) -> Callback:
        return Callback(path, voice_form(session_id, caller=caller, **fields), thread=session_id)

    return [step(VOICE), step(f"{VOICE}?turn=1", dtmfDigits="1"),
            step(f"{VOICE}?turn=2", recordingUrl=recording_url),
            Callback(VOICE, final_form(session_id, callerNumber=caller,
                                       recordingUrl=recording_url), thread=session_id)]


def inbound_sms(at_id: str, msisdn: str, text: str, to: str = MAKUENI_SMS,
                thread: str = "") -> Callback:
    """`thread`: messages whose order is the test's point (STOP, then START) keep it."""
    return Callback(SMS, sms_form(text, at_id=at_id, sender=msisdn, to=to), thread=thread)


def opt_out(msisdn: str, sender_id: str = MAKUENI_SMS) -> Callback:
    """AT's bulk SMS opt-out notification."""
    return Callback(OPTOUT, {"senderId": sender_id, "phoneNumber": msisdn})


def delivery_report(at_id: str, msisdn: str, status: str, reason: str = "",
                    retry: int = 0) -> Callback:
    form = {"id": at_id, "status": status, "phoneNumber": msisdn, "networkCode": "63902",
            "retryCount": str(retry)}
    if reason:
        form["failureReason"] = reason
    return Callback(DELIVERY, form)


def schedule(callbacks: Iterable[Callback], seed: int, copies: int = 2,
             stale: bool = False) -> list[Callback]:
    """Each callback `copies` times. A thread's copies follow each other in its order (AT
    retrying a hop); everything else is shuffled. `stale`: one extra copy of a thread's
    earlier hop, delivered after a later one."""
    rng = random.Random(seed)
    streams: list[list[Callback]] = []
    threads: dict[str, list[Callback]] = {}
    for callback in callbacks:
        if callback.thread:
            threads.setdefault(callback.thread, []).extend([callback] * copies)
        else:
            streams.extend([callback] for _ in range(copies))
    for hops in threads.values():
        if stale and len(hops) > 2 * copies:
            late = rng.randrange(0, len(hops) // copies - 1) * copies
            hops.insert(rng.randrange(late + 2 * copies, len(hops) + 1), hops[late])
        streams.append(hops)
    order: list[Callback] = []
    while streams:
        stream = streams[rng.randrange(len(streams))]
        order.append(stream.pop(0))
        if not stream:
            streams.remove(stream)
    return order


@dataclass(frozen=True)
class Delivered:
    callback: Callback
    status: int
    body: str


def deliver(client, callbacks: Iterable[Callback]) -> list[Delivered]:
    """Post each callback as AT does; every answer is returned, none is judged here."""
    answers = []
    for callback in callbacks:
        response = client.post(callback.path, data=callback.form)
        answers.append(Delivered(callback, response.status_code,
                                 response.get_data(as_text=True)))
    return answers


class Carrier:
    """AT across a fault: a callback answered 200 is ours to keep; one answered anything else
    AT posts again later (`retry`). USSD hops are never retried that way: the phone ends."""

    def __init__(self, client) -> None:
        self.client = client
        self.acknowledged: list[Delivered] = []
        self.refused: list[Delivered] = []

    def post(self, callback: Callback) -> Delivered:
        [answer] = deliver(self.client, [callback])
        (self.acknowledged if answer.status == 200 else self.refused).append(answer)
        return answer

    def retry(self) -> list[Delivered]:
        """AT's next attempt at everything not answered 200 (USSD hops excepted)."""
        again = [a.callback for a in self.refused if a.callback.path != USSD]
        self.refused = [a for a in self.refused if a.callback.path == USSD]
        return [self.post(callback) for callback in again]
