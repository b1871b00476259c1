"""What the feedback line says: one recorded file per prompt and language, or English speech.

AT's text to speech speaks English only, so these texts are never translated: a language is
offered on the line only when its prompts are recorded (VOICE_AUDIO_LANGUAGES), and each key
below is the file name of one recording (`{prompt}` in VOICE_AUDIO_URL). Read out once, in
order, they are the script for whoever records a language. Numbers are read digit by digit
(`digit_0` ... `digit_9`) and statuses from `status_<status>`, so a recorded language needs no
text to speech at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.channels.at_voice import Play, Prompt, Say
from app.db.models import TicketStatus
from app.tickets.voice_config import VoiceConfig

ENGLISH = "en"
LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili", "kam": "Kikamba", "kln": "Kalenjin"}

TEXTS = {
    "welcome": "Welcome to the {organization} feedback line.",
    "choose_language": "Welcome to the {organization} feedback line. {choices}",
    "main_menu": "To leave a complaint, press 1. To check a complaint, press 2. "
                 "To speak to an agent, press 3.",
    "no_input": "We did not hear your choice.",
    "wrong_key": "Sorry, that is not one of the choices.",
    "goodbye": "Thank you for calling. Goodbye.",
    "record": "Please describe your complaint after the beep: what happened, and where. "
              "Press the hash key when you are done.",
    "no_recording": "We did not get a recording.",
    "received": "Thank you. Your complaint is received. Your reference number is",
    "sms_sent": "We have also sent the reference number to you by SMS.",
    "ask_reference": "Please enter your complaint reference number, then press the hash key.",
    "no_reference": "We did not get a reference number.",
    "mistyped": "That reference number is not correct. Please check it.",
    "unknown": "We could not find a complaint with that reference number.",
    "not_yours": "That complaint was not made from this phone number, so we cannot tell "
                 "you about it.",
    "try_again": "Please try again.",
    "your_complaint": "Your complaint",
    "connecting": "Please hold while we connect you to an agent.",
    "no_answer": "Sorry, no agent could answer.",
    "no_agent": "Sorry, no agent is available right now.",
    "offer_complaint": "To leave a complaint instead, press 1.",
    "queue": "Please hold. The next free agent will answer you.",
    "failed": "Sorry, something went wrong. Please call again later. Goodbye.",
    # Statuses, after "Your complaint <number>".
    f"status_{TicketStatus.NEW}": "is received, and waits for an officer.",
    f"status_{TicketStatus.ASSIGNED}": "is assigned to an officer.",
    f"status_{TicketStatus.IN_PROGRESS}": "is in progress.",
    f"status_{TicketStatus.RESOLVED}": "is resolved.",
    f"status_{TicketStatus.CLOSED}": "is closed.",
    f"status_{TicketStatus.REOPENED}": "is reopened, and will be looked at again.",
} | {f"digit_{digit}": digit for digit in "0123456789"}
NOT_IN_SERVICE = "Sorry, this number is not in service. Goodbye."


@dataclass(frozen=True)
class Speaker:
    """Prompts in one caller's language: recorded files when there are some, English otherwise."""

    config: VoiceConfig
    language: str
    organization_code: str
    organization_name: str

    @property
    def recorded(self) -> bool:
        return self.config.recorded(self.language)

    def prompt(self, key: str, **fields: str) -> Prompt:
        if self.recorded:
            return Play(self.config.audio(self.language, key, self.organization_code))
        return Say(TEXTS[key].format(organization=self.organization_name, **fields))

    def number(self, digits: str) -> list[Prompt]:
        """A reference read digit by digit, so it can be written down."""
        if self.recorded:
            return [self.prompt(f"digit_{digit}") for digit in digits if digit.isdigit()]
        return [Say(spelled(digits))]

    def status(self, digits: str, status: TicketStatus, dates: str) -> list[Prompt]:
        """'Your complaint 4, 8, 2 ... is in progress.' (and its dates, in English)."""
        if self.recorded:  # dates stay out of recordings; the SMS notices carry them
            return [self.prompt("your_complaint"), *self.number(digits),
                    self.prompt(f"status_{status}")]
        return [Say(f"{TEXTS['your_complaint']} {spelled(digits)} "
                    f"{TEXTS[f'status_{status}']} {dates}")]


def spelled(digits: str) -> str:
    """'4829137' -> '4, 8, 2, 9, 1, 3, 7': text to speech reads each digit, with a pause."""
    return ", ".join(digit for digit in digits if digit.isdigit()) + "."


def language_choices(languages: Sequence[str]) -> str:
    """'For English, press 1. For Kiswahili, press 2.'"""
    return " ".join(f"For {LANGUAGE_NAMES.get(language, language)}, press {number}."
                    for number, language in enumerate(languages, start=1))
