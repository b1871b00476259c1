"""The feedback line's settings: recorded prompts per language, agents' numbers, the queue."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

URL_FIELDS = frozenset({"language", "prompt", "organization"})
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,40}")


class VoiceConfigError(ValueError):
    """A VOICE_* setting that cannot work; the message names it."""


@dataclass(frozen=True)
class VoiceConfig:
    audio_url: str | None = None  # e.g. https://cdn.example.org/baraza/{language}/{prompt}.mp3
    audio_languages: frozenset[str] = frozenset()
    record_seconds: int = 120
    agent_numbers: tuple[str, ...] = ()
    queue_name: str | None = None
    hold_music_url: str | None = None

    @classmethod
    def from_settings(cls, settings) -> VoiceConfig:
        return cls(audio_url=settings.voice_audio_url,
                   audio_languages=frozenset(settings.voice_audio_languages),
                   record_seconds=settings.voice_record_seconds,
                   agent_numbers=tuple(settings.voice_agent_numbers),
                   queue_name=settings.voice_queue_name,
                   hold_music_url=settings.voice_hold_music_url)

    def recorded(self, language: str) -> bool:
        return self.audio_url is not None and language in self.audio_languages

    def audio(self, language: str, prompt: str, organization: str) -> str:
        """The URL of one recorded prompt."""
        return self.audio_url.format(language=language, prompt=prompt, organization=organization)


def checked_voice_settings(*, audio_url: str | None, audio_languages: str, agent_numbers: str,
                           queue_name: str | None, hold_music_url: str | None) -> dict[str, object]:
    """The Settings fields for the raw VOICE_* values, or VoiceConfigError."""
    languages = tuple(dict.fromkeys(_items(audio_languages)))
    if audio_url is not None:
        _check_template(audio_url)
    if languages and audio_url is None:
        raise VoiceConfigError("VOICE_AUDIO_LANGUAGES needs VOICE_AUDIO_URL")
    for language in languages:
        if not _LANGUAGE.fullmatch(language):
            raise VoiceConfigError(f"VOICE_AUDIO_LANGUAGES: {language!r} is not a language code")
    numbers = tuple(dict.fromkeys(_items(agent_numbers)))
    for number in numbers:
        if not _E164.fullmatch(number):
            raise VoiceConfigError(f"VOICE_AGENT_NUMBERS: {number!r} is not an E.164 number")
    if queue_name is not None and not _QUEUE.fullmatch(queue_name):
        raise VoiceConfigError("VOICE_QUEUE_NAME: up to 40 letters, digits, '-' or '_'")
    if hold_music_url is not None and not _is_url(hold_music_url):
        raise VoiceConfigError("VOICE_HOLD_MUSIC_URL must be an http(s) URL")
    return {"voice_audio_url": audio_url, "voice_audio_languages": languages,
            "voice_agent_numbers": numbers, "voice_queue_name": queue_name,
            "voice_hold_music_url": hold_music_url}


def _items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://")) and len(value) <= 400


def _check_template(template: str) -> None:
    if not _is_url(template):
        raise VoiceConfigError("VOICE_AUDIO_URL must be an http(s) URL")
    try:
        names = {name for _, name, spec, conversion in string.Formatter().parse(template)
                 if name is not None}
    except ValueError as exc:
        raise VoiceConfigError(f"VOICE_AUDIO_URL: {exc}") from exc
    if not names <= URL_FIELDS or not {"language", "prompt"} <= names:
        raise VoiceConfigError("VOICE_AUDIO_URL needs {language} and {prompt}, and may use "
                               "{organization}; nothing else in braces")
