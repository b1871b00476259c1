"""AT Voice: the callback form AT posts on every step of a call, and the XML actions we answer.

Rendering is pure and deterministic (fixed attribute order, no whitespace), so a repeated
callback can be answered with the very same bytes. Only the actions and attributes AT documents
are produced (AT-PROTOCOL.md, "Voice").

The reply goes out as `text/plain`: AT documents no content type for it, and every sample AT
publishes (PHP `header('Content-type: text/plain')`) and the integrators' code we found send
text/plain; nothing shows AT accepting or refusing application/xml, so we keep to what is known
to work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

CONTENT_TYPE = "text/plain"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
MAX_FIELD = 500  # AT's ids and numbers are short, a recording URL is a few hundred characters
MAX_SESSION_ID = 100  # fits voice_calls.session_id and "voice:<id>" in tickets.source_key (120)
# Characters XML 1.0 cannot carry at all (a stray control character would break the document).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class VoiceForm:
    """One POST from AT about a call; parsing never raises, a missing field becomes empty."""

    session_id: str
    active: bool  # False only on the final notification, which carries duration and cost
    direction: str
    caller_number: str
    destination_number: str
    dtmf_digits: str
    recording_url: str
    duration_seconds: int | None
    currency_code: str
    amount: str
    hangup_cause: str
    dial_destination: str
    dial_duration_seconds: int | None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> VoiceForm:
        return cls(
            session_id=_field(form, "sessionId", MAX_SESSION_ID).strip(),
            active=_field(form, "isActive").strip() != "0",
            direction=_field(form, "direction", 16),
            caller_number=_field(form, "callerNumber", 40).strip(),
            destination_number=_field(form, "destinationNumber", 40).strip(),
            dtmf_digits=_field(form, "dtmfDigits", 40).strip(),
            recording_url=_field(form, "recordingUrl").strip(),
            duration_seconds=_seconds(form.get("durationInSeconds")),
            currency_code=_field(form, "currencyCode", 3).strip(),
            amount=_field(form, "amount", 20).strip(),
            hangup_cause=_field(form, "hangupCause", 60).strip(),
            dial_destination=_field(form, "dialDestinationNumber", 40).strip(),
            dial_duration_seconds=_seconds(form.get("dialDurationInSeconds")),
        )


def _field(form: Mapping[str, str], name: str, limit: int = MAX_FIELD) -> str:
    # PostgreSQL text cannot hold NUL: a query with one fails and the call ends in an apology.
    return (form.get(name) or "")[:limit].replace("\x00", "\ufffd")


def _seconds(raw: str | None) -> int | None:
    try:
        value = int(float((raw or "").strip()))  # seen as "35" and "35.0"
    except (ValueError, OverflowError):  # OverflowError: "inf" and "1e400" parse as floats
        return None
    return value if 0 <= value < 10**7 else None


# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Text to speech: English only."""

    text: str
    voice: str | None = None  # "woman" or "man"
    play_beep: bool | None = None


@dataclass(frozen=True)
class Play:
    """A recorded audio file: how the line speaks Kiswahili, Kikamba or Kalenjin."""

    url: str


Prompt = Say | Play


@dataclass(frozen=True)
class GetDigits:
    """Ask for keys. With no input AT moves on silently: always follow it with a fallback."""

    prompt: Prompt
    num_digits: int | None = None
    timeout: int | None = None
    finish_on_key: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class Record:
    """A partial recording after `prompt` (the URL comes back as `recordingUrl`); with no
    prompt and no attributes, a terminal recording until hang-up."""

    prompt: Prompt | None = None
    max_length: int | None = None
    finish_on_key: str | None = None
    timeout: int | None = None
    trim_silence: bool | None = None
    play_beep: bool | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class Dial:
    phone_numbers: tuple[str, ...]
    sequential: bool | None = None
    record: bool | None = None
    ringback_tone: str | None = None
    max_duration: int | None = None
    caller_id: str | None = None


@dataclass(frozen=True)
class Enqueue:
    name: str | None = None
    hold_music: str | None = None


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Reject:
    pass


Action = Say | Play | GetDigits | Record | Dial | Enqueue | Redirect | Reject


def render(actions: Sequence[Action]) -> str:
    """The whole reply document; no actions gives the empty `<Response/>`."""
    body = "".join(_element(action) for action in actions)
    if not body:
        return f"{XML_DECLARATION}<Response/>"
    return f"{XML_DECLARATION}<Response>{body}</Response>"


def _element(action: Action) -> str:
    match action:
        case Say():
            return _tag("Say", {"voice": action.voice, "playBeep": action.play_beep},
                        _text(action.text))
        case Play():
            return _tag("Play", {"url": action.url})
        case GetDigits():
            return _tag("GetDigits", {"numDigits": action.num_digits, "timeout": action.timeout,
                                      "finishOnKey": action.finish_on_key,
                                      "callbackUrl": action.callback_url},
                        _element(action.prompt))
        case Record():
            return _tag("Record", {"finishOnKey": action.finish_on_key,
                                   "maxLength": action.max_length, "timeout": action.timeout,
                                   "trimSilence": action.trim_silence,
                                   "playBeep": action.play_beep,
                                   "callbackUrl": action.callback_url},
                        _element(action.prompt) if action.prompt else "")
        case Dial():
            return _tag("Dial", {"phoneNumbers": ",".join(action.phone_numbers),
                                 "sequential": action.sequential, "record": action.record,
                                 "ringbackTone": action.ringback_tone,
                                 "maxDuration": action.max_duration,
                                 "callerId": action.caller_id})
        case Enqueue():
            return _tag("Enqueue", {"name": action.name, "holdMusic": action.hold_music})
        case Redirect():
            return _tag("Redirect", {}, _text(action.url))
        case Reject():
            return _tag("Reject", {})
    raise TypeError(f"not an AT voice action: {action!r}")


def _tag(name: str, attributes: Mapping[str, object], inner: str = "") -> str:
    attrs = "".join(f" {key}={quoteattr(_attribute(value))}"
                    for key, value in attributes.items() if value is not None)
    return f"<{name}{attrs}>{inner}</{name}>" if inner else f"<{name}{attrs}/>"


def _attribute(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))  # quoteattr() escapes


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))
