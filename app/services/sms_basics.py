"""The keywords every organization answers: HELP (MSAADA) and LANG (LUGHA).

Texts are English msgids marked with N_() and translated when a reply is built; keywords are
shown in the reply's language ("MSAADA" in Kiswahili) and accepted in every language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from app.engine.flow import N_
from app.services import contacts
from app.services.sms_keywords import Keyword, KeywordRegistry, SmsRequest

HELP_HEADER = N_("{org_name} SMS. Send one of these to {short_code}:")
HELP_USAGE = N_("{word} - this list")
LANG_USAGE = N_("{word} {languages} - change language")
LANG_CHANGED = N_("Your language is now {language}. Send {help} to see what you can text.")
LANG_UNKNOWN = N_("Sorry, that language is not available. Send one of: {choices}")
LANG_MISSING = N_("To change your language, send one of: {choices}")

# Each language named in itself, as language pickers do: a resident finds their own.
LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili"}
# What residents may type after LANG besides the code.
LANGUAGE_ALIASES = {"english": "en", "kiingereza": "en", "kingereza": "en",
                    "kiswahili": "sw", "swahili": "sw"}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """`{name}` replaced from `values`; a name a translator mistyped becomes empty, not a crash."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def help_text(request: SmsRequest, language: str) -> str:
    """What one can text, in `language`: a header, then one line per advertised keyword."""
    _ = request.gettext_for(language)
    values = {"org_name": request.organization.name, "short_code": request.short_code,
              "languages": "/".join(code.upper() for code in request.organization.languages)}
    lines = [fill(_(HELP_HEADER), values)]
    for keyword in request.keywords.advertised(request):
        lines.append(fill(_(keyword.usage or ""), {**values, "word": keyword.word_for(language)}))
    return "\n".join(lines)


def send_help(request: SmsRequest) -> str:
    return help_text(request, request.language)


def change_language(request: SmsRequest) -> str:
    """LANG SW / LUGHA EN: switch, then confirm in the new language; else list the choices."""
    offered = request.organization.languages
    given = request.text.words[0] if request.text.words else ""
    code = LANGUAGE_ALIASES.get(given, given)
    if code not in offered:
        _ = request.gettext_for(request.language)
        lang_word = request.keywords.find("lang")
        word = lang_word.word_for(request.language) if lang_word else "LANG"
        choices = ", ".join(f"{word} {c.upper()} ({LANGUAGE_NAMES.get(c, c.upper())})"
                            for c in offered)
        return fill(_(LANG_UNKNOWN if given else LANG_MISSING), {"choices": choices})
    contacts.set_language(request.db, request.organization.id, request.contact.msisdn, code)
    _ = request.gettext_for(code)
    help_word = request.keywords.find("help")
    return fill(_(LANG_CHANGED), {
        "language": LANGUAGE_NAMES.get(code, code.upper()),
        "help": help_word.word_for(code) if help_word else "HELP",
    })


def build_keywords(*features: Callable[[KeywordRegistry], None]) -> KeywordRegistry:
    """The registry the SMS handler uses; anything unknown gets the help text. Each feature
    registers its own keywords (app.pb.sms_votes: VOTE, RECEIPT, IDEA)."""
    from app.services import sms_optout  # it uses `fill` from here

    registry = KeywordRegistry(fallback=send_help)
    registry.register(Keyword({"en": "HELP", "sw": "MSAADA"}, send_help, HELP_USAGE))
    registry.register(Keyword({"en": "LANG", "sw": "LUGHA"}, change_language, LANG_USAGE,
                              aliases=("LANGUAGE",)))
    sms_optout.register(registry)  # STOP/ACHA, START/ANZA: every organization answers them
    for register in features:
        register(registry)
    return registry
