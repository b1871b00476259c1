"""Campaign message text: placeholders, GSM-7 or UCS-2, parts at the edges, cost, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.campaigns.message_text import (
    Encoding,
    MessageError,
    Price,
    check_messages,
    check_text,
    message_language,
    parts_for,
    render,
    ucs2_characters,
)
from app.campaigns.quiet_hours import Window, in_quiet_hours, seconds_until_open


@pytest.mark.parametrize(("length", "parts"), [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2),
                                                (307, 3), (459, 3), (460, 4)])
def test_gsm7_parts_at_the_edges(length, parts):
    check = check_text("en", "a" * length if length else "a")
    if length:
        assert (check.encoding, check.length, check.parts) == (Encoding.GSM7, length, parts)
    assert parts_for(length, Encoding.GSM7) == parts


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_parts_at_the_edges(length, parts):
    text = "ŵ" + "a" * (length - 1)
    check = check_text("sw", text)
    assert (check.encoding, check.length, check.parts) == (Encoding.UCS2, length, parts)


def test_the_characters_that_force_ucs2_are_named_once_each_in_order():
    text = "Karibu “baraza” – leo 🙂 “sasa”"
    check = check_text("sw", text)
    assert check.encoding is Encoding.UCS2
    assert check.ucs2_characters == ("“", "”", "–", "🙂")
    assert ucs2_characters("Plain text, GSM-7 only: £5 @ 10:00 [ok] €") == ()


def test_gsm7_extension_characters_count_twice():
    check = check_text("en", "[" + "a" * 159)
    assert (check.encoding, check.length, check.parts) == (Encoding.GSM7, 161, 2)


def test_placeholders_count_at_their_longest_and_unknown_ones_are_refused():
    assert check_text("en", "Hi {name}").length == len("Hi ") + 30
    bad = check_text("en", "Hi {nmae}, see {ward}")
    assert bad.unknown_placeholders == ("nmae",)
    assert not bad.ok
    with pytest.raises(MessageError, match=r"unknown placeholder.*\{nmae\}"):
        check_messages({"en": "Hi {nmae}"}, ["en", "sw"])
    with pytest.raises(MessageError, match="no such language"):
        check_messages({"fr": "Bonjour"}, ["en", "sw"])
    with pytest.raises(MessageError, match="unbalanced"):
        check_messages({"en": "Hi {name"}, ["en", "sw"])


def test_render_fills_each_language_and_tidies_missing_values():
    assert render("Habari {name}, mkutano {ward} ({org})",
                  {"name": "Wanjiru", "ward": "Wote", "org": "Makueni County"}) == \
        "Habari Wanjiru, mkutano Wote (Makueni County)"
    assert render("Hello {name}, forum on Monday", {"name": None}) == "Hello, forum on Monday"


def test_message_language_falls_back_to_the_default_then_the_first():
    messages = {"sw": "Habari", "en": "Hello"}
    assert message_language("en", messages, "sw") == "en"
    assert message_language("kam", messages, "sw") == "sw"
    assert message_language("kam", {"en": "Hello"}, "sw") == "en"


def test_cost_at_a_price_per_part():
    price = Price.parse("0.80 KES")
    assert price == Price.parse("KES 0.80")
    assert price.cost(3) == Decimal("2.40")
    assert price.format(1001) == "KES 800.80"
    with pytest.raises(ValueError):
        Price.parse("cheap")


NAIROBI = "Africa/Nairobi"  # UTC+3


@pytest.mark.parametrize(("utc_hour", "minute", "quiet"), [
    (4, 59, True),  # 07:59 in Nairobi
    (5, 0, False),  # 08:00 opens
    (14, 59, False),  # 17:59
    (15, 0, True),  # 18:00 closes
    (21, 0, True),  # midnight
])
def test_quiet_hours_with_a_fixed_clock(utc_hour, minute, quiet):
    now = datetime(2026, 11, 23, utc_hour, minute, tzinfo=UTC)
    assert in_quiet_hours(now, NAIROBI, "08:00-18:00") is quiet


def test_quiet_hours_say_when_sending_may_resume():
    evening = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 19:00 local
    assert seconds_until_open(evening, NAIROBI) == 13 * 3600
    early = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 07:30 local
    assert seconds_until_open(early, NAIROBI) == 1800
    assert seconds_until_open(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), NAIROBI) == 0
    night_shift = Window.parse("22:00-06:00")
    assert not in_quiet_hours(datetime(2026, 11, 23, 0, 0, tzinfo=UTC), NAIROBI, night_shift)
    with pytest.raises(ValueError):
        Window.parse("8-6pm")


def test_the_campaigns_package_knows_nothing_of_flask():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "app" / "campaigns"
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("flask", "app.web", "app.console")), \
                    f"{path.name} imports {name}"
