"""Translations: one gettext per language, loaded from locales/ once at start-up."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"  # flows and code are written in English; English is the msgid


class Catalogs:
    """The languages Baraza can speak, each as a gettext function."""

    def __init__(self, locales_dir: Path) -> None:
        self._translations: dict[str, NullTranslations] = {SOURCE_LANGUAGE: NullTranslations()}
        for po_path in sorted(locales_dir.glob("*/LC_MESSAGES/messages.po")):
            language = po_path.parent.parent.name
            self._translations[language] = _load(po_path)

    @property
    def languages(self) -> list[str]:
        return list(self._translations)

    def gettext_for(self, language: str) -> Callable[[str], str]:
        """Unknown languages fall back to English rather than failing a resident's session."""
        translations = self._translations.get(language) or self._translations[SOURCE_LANGUAGE]
        return translations.gettext

    def supports(self, language: str) -> bool:
        return language in self._translations


def _load(po_path: Path) -> NullTranslations:
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as handle:
            return Translations(handle)
    # A catalog edited since the last `make`: compile it in memory so nobody sees stale text.
    log.warning("%s is missing or older than its .po; compiling in memory", mo_path)
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
