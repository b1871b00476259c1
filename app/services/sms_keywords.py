"""SMS keywords: the first word of a message picks a handler, in any case and either language.

Later features register their own keywords (VOTE/KURA, PMC, COMPLAIN/MALALAMIKO, STOP/ACHA...)
on the registry built by `app.services.sms_basics.build_keywords`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from app.db.models import Contact, Organization

Gettext = Callable[[str], str]

# Leading punctuation, quotes or spaces are noise ("  #help!", "'Lang: sw.'"); `\w` keeps
# letters of any script and digits, so the keyword is the first run of them.
_FIRST_WORD = re.compile(r"[\W_]*([^\W_]+)(.*)", re.DOTALL)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class ParsedText:
    keyword: str  # casefolded, "" for a message with no word at all
    words: tuple[str, ...]  # the following words, casefolded, punctuation dropped
    rest: str  # the raw text after the keyword, for handlers that take free text


def parse_text(text: str) -> ParsedText:
    match = _FIRST_WORD.match(text)
    if match is None:
        return ParsedText("", (), "")
    rest = match.group(2).strip()
    # A long message (complaint) needs only its first words parsed; the handler gets `rest`.
    words = tuple(w.casefold() for w in _WORD.findall(rest[:200]))
    return ParsedText(match.group(1).casefold(), words, rest)


@dataclass(frozen=True)
class SmsRequest:
    """One message being answered, with what a handler needs to write and to reply."""

    db: Session
    organization: Organization
    contact: Contact
    short_code: str  # the address the resident texted
    text: ParsedText
    keywords: KeywordRegistry
    gettext_for: Callable[[str], Gettext]
    keyword_language: str | None = None  # "sw" for MSAADA: the language the keyword is in
    message_id: str = ""  # AT's id of the message: what makes a handler's writes idempotent
    # (msisdn, text) of messages to other people (e.g. a PMC's other members), queued after
    # the reply in the same transaction; the list is shared by the copies `replace` makes.
    others: list[tuple[str, str]] = field(default_factory=list)

    @property
    def language(self) -> str:
        """The contact's choice; else the language they texted in; else the organization's."""
        if self.contact.language:
            return self.contact.language
        if self.keyword_language in self.organization.languages:
            return self.keyword_language
        return self.organization.default_language

    def send_also(self, msisdn: str, body: str) -> None:
        """Send a message to someone else too, once the answer commits (after the reply)."""
        self.others.append((msisdn, body))


# A handler does its work in `request.db` (the caller commits) and returns the reply text,
# already translated, or None to send nothing.
Handler = Callable[[SmsRequest], str | None]


@dataclass(frozen=True)
class Keyword:
    words: Mapping[str, str]  # the word residents are told to send, per language ("en" required)
    handler: Handler
    usage: str | None = None  # N_() line for the help text; {word} is the local keyword
    aliases: tuple[str, ...] = ()  # accepted too, never advertised
    # False for a message that says how someone voted: once answered, only the keyword is kept.
    keeps_text: bool = True
    # Who sees the usage line in HELP (e.g. PMC members only); None: everyone.
    audience: Callable[[SmsRequest], bool] | None = None

    def word_for(self, language: str) -> str:
        return word_in(self.words, language)

    def language_of(self, word: str) -> str | None:
        """The language whose word this is; None for an alias or a word shared by several."""
        found = {lang for lang, w in self.words.items() if w.casefold() == word.casefold()}
        return found.pop() if len(found) == 1 else None

    def matches(self) -> Iterator[str]:
        yield from self.words.values()
        yield from self.aliases


@dataclass
class KeywordRegistry:
    fallback: Handler  # answers a message whose first word is no keyword
    _by_word: dict[str, Keyword] = field(default_factory=dict)
    _ordered: list[Keyword] = field(default_factory=list)

    def register(self, keyword: Keyword) -> Keyword:
        # A word may be the same in several languages (PMC): registered once for the keyword.
        for key in dict.fromkeys(word.casefold() for word in keyword.matches()):
            if key in self._by_word:
                raise ValueError(f"SMS keyword {key!r} is registered twice")
            self._by_word[key] = keyword
        self._ordered.append(keyword)
        return keyword

    def find(self, word: str) -> Keyword | None:
        return self._by_word.get(word.casefold())

    def advertised(self, request: SmsRequest | None = None) -> list[Keyword]:
        """Keywords with a help line, in registration order; with a request, only those whose
        audience includes its sender."""
        return [k for k in self._ordered if k.usage and (
            k.audience is None or (request is not None and k.audience(request)))]

    def keeps_text(self, text: ParsedText) -> bool:
        keyword = self.find(text.keyword)
        return keyword is None or keyword.keeps_text

    def answer(self, request: SmsRequest) -> str | None:
        keyword = self.find(request.text.keyword)
        if keyword is None:
            return self.fallback(request)
        return keyword.handler(
            replace(request, keyword_language=keyword.language_of(request.text.keyword)))


def word_in(words: Mapping[str, str], language: str) -> str:
    """A keyword in the caller's language, else English."""
    return words.get(language) or words["en"]


def shown_typed(typed: str, width: int) -> str:
    """What someone typed, safe to echo in an SMS: printable ASCII, cut to `width`."""
    return "".join(ch for ch in typed if " " < ch <= "~")[:width]
