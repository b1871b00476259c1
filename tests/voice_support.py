"""Voice tests: AT's callback forms as AT posts them, and a check of every reply against AT's
action set (AT-PROTOCOL.md, "Voice")."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

VOICE_NUMBER = "+254711082548"  # Nandi's toll-free line in tests/factories.py
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

# Each action AT knows, with the attributes it documents for it.
ATTRIBUTES = {
    "Say": {"voice", "playBeep"},
    "Play": {"url"},
    "GetDigits": {"numDigits", "timeout", "finishOnKey", "callbackUrl"},
    "Record": {"finishOnKey", "maxLength", "timeout", "trimSilence", "playBeep", "callbackUrl"},
    "Dial": {"phoneNumbers", "sequential", "record", "ringbackTone", "maxDuration", "callerId"},
    "Enqueue": {"name", "holdMusic"},
    "Dequeue": {"phoneNumber", "name"},
    "Redirect": set(),
    "Reject": set(),
    "Conference": set(),
}
PROMPTS = {"Say", "Play"}
BOOLEANS = {"playBeep", "trimSilence", "sequential", "record"}
NUMBERS = {"numDigits", "timeout", "maxLength", "maxDuration"}
URLS = {"url", "callbackUrl", "ringbackTone", "holdMusic"}
E164 = re.compile(r"\+[1-9]\d{7,14}")


def voice_form(session: str = "ATVId_1", *, caller: str = "+254722000111",
               destination: str = VOICE_NUMBER, active: bool = True, **fields: str) -> dict:
    """The fields AT posts on a step of an inbound call (plus dtmfDigits, recordingUrl...)."""
    return {"isActive": "1" if active else "0", "sessionId": session, "direction": "Inbound",
            "callerNumber": caller, "destinationNumber": destination, **fields}


def final_form(session: str = "ATVId_1", **fields: str) -> dict:
    """AT's last POST of a call: duration and cost."""
    base = {"durationInSeconds": "95", "currencyCode": "KES", "amount": "3.5000",
            "hangupCause": "NORMAL_CLEARING"}
    return voice_form(session, active=False, **(base | fields))


@dataclass(frozen=True)
class Reply:
    """A voice reply that passed `check_reply`."""

    actions: list[ET.Element]

    @property
    def names(self) -> list[str]:
        return [action.tag for action in self.actions]

    def spoken(self) -> str:
        """Everything said or played, in order (a Play counts as its URL)."""
        parts = []
        for action in self.actions:
            for element in [action, *action]:
                if element.tag == "Say":
                    parts.append(element.text or "")
                elif element.tag == "Play":
                    parts.append(element.get("url"))
        return " ".join(parts)

    def first(self, tag: str) -> ET.Element:
        return next(action for action in self.actions if action.tag == tag)

    def next_url(self) -> str:
        """Where AT posts the answer to this reply's question (GetDigits or Record)."""
        asks = [a for a in self.actions if a.tag in ("GetDigits", "Record")]
        urls = {a.get("callbackUrl") for a in asks}
        assert len(urls) == 1, f"one callback URL expected: {urls}"
        return urls.pop()


def check_reply(response) -> Reply:
    """Fail unless `response` is a voice document AT can run."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert body.startswith(DECLARATION), body[:60]
    root = ET.fromstring(body[len(DECLARATION):])
    assert root.tag == "Response", f"the root is {root.tag}"
    assert not (root.text or "").strip()
    actions = list(root)
    for position, action in enumerate(actions):
        _check_action(action)
        if action.tag == "GetDigits":
            assert position + 1 < len(actions), "GetDigits falls through silently: add a fallback"
    return Reply(actions)


def _check_action(action: ET.Element) -> None:
    assert action.tag in ATTRIBUTES, f"not an AT action: {action.tag}"
    unknown = set(action.attrib) - ATTRIBUTES[action.tag]
    assert not unknown, f"{action.tag} has attributes AT does not know: {unknown}"
    for name, value in action.attrib.items():
        if name in BOOLEANS:
            assert value in ("true", "false"), (name, value)
        if name in NUMBERS:
            assert value.isdigit() and int(value) > 0, (name, value)
        if name in URLS:
            assert value.startswith(("http://", "https://")), (name, value)
    children = list(action)
    if action.tag == "Say":
        assert (action.text or "").strip() and not children
    elif action.tag == "Play":
        assert action.get("url") and not children and not (action.text or "").strip()
    elif action.tag == "GetDigits":
        _check_one_prompt(action, children)
    elif action.tag == "Record":
        if children or action.attrib:  # a bare <Record/> records until hang-up
            _check_one_prompt(action, children)
    elif action.tag == "Dial":
        numbers = action.get("phoneNumbers", "").split(",")
        assert numbers and all(E164.fullmatch(n) for n in numbers), numbers
        assert not children
    elif action.tag == "Redirect":
        assert (action.text or "").startswith(("http://", "https://")) and not children
    else:
        assert not children and not (action.text or "").strip()


def _check_one_prompt(action: ET.Element, children: list[ET.Element]) -> None:
    assert len(children) == 1 and children[0].tag in PROMPTS, \
        f"{action.tag} needs exactly one Say or Play, has {[c.tag for c in children]}"
    assert not (action.text or "").strip() and not (children[0].tail or "").strip()
    _check_action(children[0])


@dataclass(frozen=True)
class XmlReply:
    """A bare document shaped like a Flask response, to test `check_reply` itself."""

    body: str
    status_code: int = 200
    mimetype: str = "text/plain"

    def get_data(self, as_text: bool = False) -> str:
        return self.body


def turn_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["turn"][0]
