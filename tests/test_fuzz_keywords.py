"""Hostile input for the pure parsers behind SMS keywords and USSD inputs (issue 7).

Every parser takes whatever a resident (or anyone who found the callback URL) can type:
arbitrary unicode, huge fields, injection strings. Properties: it never raises anything but
its documented error, its result keeps its own invariants, and what it prints it reads back.
The strategies here are shared with tests/test_fuzz_at_endpoints.py.
"""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.channels.at_forms import parse_at_date
from app.channels.phone import InvalidPhoneNumber, mask, normalise_msisdn
from app.engine import validators
from app.engine.flow import Invalid, Valid, Validator
from app.pb import ballot_rules
from app.pb.sms_votes import MAX_TOKENS, parse_amount, parse_votes
from app.pb.voters import InvalidNationalId, normalise_national_id
from app.pmc.report_flow import pmc_progress
from app.pmc.report_text import (
    MAX_COMMENT,
    STATUS_WORDS,
    ReportText,
    ReportTextError,
    parse_report,
)
from app.runtime import Runtime, build_runtime
from app.services.sms_keywords import Keyword, KeywordRegistry, ParsedText, parse_text
from app.settings import Settings
from app.tickets import references

# Reproducible in CI: the same examples every run, nothing written into the work tree.
FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

INJECTIONS = [
    "' OR '1'='1", "1; DROP TABLE ballots; --", "\" OR \"\"=\"", "admin'--", "1' UNION SELECT",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&lt;b&gt;", "]]><!--",
    "\r\nSet-Cookie: x=1", "a\r\n\r\nHTTP/1.1 200 OK", "\n", "\r", "\t",
    "\x00", "a\x00b", "%00", "%", "%%", "%s", "%d", "%(name)s", "%n%n%n", "{0}", "{}", "{",
    "}", "{org_name}", "{receipt}", "{0.__class__}", "${jndi:ldap://x}", "{{7*7}}", "\\",
    "../../etc/passwd", "NULL", "None", "null", "true", "-1", "0", "00", "98", "-0", "1e309",
    "NaN", "inf", "0x10", "1_000", "٤٥", "²", "½", "߀", "𝟗", "Ⅻ", "\u202e", "\u200b", "\ufeff",
    "\ud7ff", "\U0010ffff", "👋🏽", "“asante”", "ß", "İ", "ﬃ", "Σ", "+254712345678",
    " 254712345678", "254712345678", "0712345678", "+", " ", "*", "#", "*#", "1*2*3",
    "9" * 5000, "9" * 400 + "K", "1" * 4301 + "M", "*" * 2000, "1*" * 5000, "x" * 20_000,
]

hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(INJECTIONS),
    st.lists(st.sampled_from(INJECTIONS), min_size=1, max_size=4).map(" ".join),
    st.text(alphabet="0123456789*# %,.:-kKmM", max_size=40),
    # huge fields: around AT's limits, two bytes per character in UTF-8
    st.tuples(st.sampled_from("é9*x"), st.sampled_from([159, 161, 4301, 10_241, 20_001])).map(
        lambda pair: pair[0] * pair[1]),
)


@functools.cache
def product() -> Runtime:
    """The keyword registry and validators exactly as the product builds them (no database
    is touched: only the parsers are used)."""
    return build_runtime(Settings(database_url="sqlite://", redis_url=None))


@functools.cache
def registry() -> KeywordRegistry:
    return product().inbound_sms.keywords


def every_word() -> list[str]:
    """Every keyword and alias registered, COMPLAIN and STATUS included once they are."""
    return sorted({word for keyword in registry()._ordered for word in keyword.matches()})


keywords = st.deferred(lambda: st.sampled_from(every_word()))


def _cases(word: str, rng: random.Random) -> str:
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in word)


# -- keywords ---------------------------------------------------------------------------------


@FUZZ
@given(hostile_text)
@example("\x00HELP")
@example("ﬃ x")  # casefolds to three letters
def test_parse_text_reads_any_text(text):
    parsed = parse_text(text)
    assert isinstance(parsed, ParsedText)
    assert parsed.keyword == parsed.keyword.casefold()
    assert parsed.rest == parsed.rest.strip()
    assert all(word and word == word.casefold() for word in parsed.words)
    assert len(parsed.words) <= 200  # only the first words are split
    registry().find(parsed.keyword)  # any word is looked up without error
    registry().keeps_text(parsed)


@FUZZ
@given(keywords, st.sampled_from(["", " ", "  #", "'", "\"", "*", "..."]),
       st.sampled_from([" ", "  ", ":", ": ", "\n", ", "]), hostile_text, st.randoms())
def test_every_keyword_is_found_in_any_case_and_punctuation(word, before, after, rest, rng):
    parsed = parse_text(f"{before}{_cases(word, rng)}{after}{rest}")
    assert parsed.keyword == word.casefold()
    keyword = registry().find(parsed.keyword)
    assert isinstance(keyword, Keyword) and word in set(keyword.matches())


@FUZZ
@given(keywords,
       st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), max_size=6))
def test_words_after_a_keyword_come_back_casefolded(word, words):
    parsed = parse_text(" ".join([word, *(w.upper() for w in words)]))
    assert (parsed.keyword, parsed.words) == (word.casefold(), tuple(words))
    assert parsed.rest.casefold() == " ".join(words)


def test_no_keyword_is_registered_twice_in_any_case():
    casefolded = [w.casefold() for k in registry()._ordered for w in dict.fromkeys(
        x.casefold() for x in k.matches())]
    assert len(casefolded) == len(set(casefolded))
    assert {"stop", "acha", "start", "anza", "vote", "kura", "pmc", "idea", "wazo"} <= set(
        casefolded)


# -- PMC progress reports -------------------------------------------------------------------


@FUZZ
@given(hostile_text)
@example("MK-1 ٤٥ ontrack")
@example("MK-1 ² ontrack")
@example("MK-1 " + "9" * 5000 + " ontrack")
def test_parse_report_reads_any_text(rest):
    result = parse_report(rest)
    assert isinstance(result, ReportText | ReportTextError)
    if isinstance(result, ReportText):
        assert 0 <= result.progress <= 100 and len(result.comment) <= MAX_COMMENT
        assert result.project_code and not any(ch.isspace() for ch in result.project_code)


status_words = st.sampled_from(sorted(STATUS_WORDS))
codes = st.from_regex(r"[A-Za-z]{1,4}[-/]?[0-9]{1,4}", fullmatch=True)
comments = st.lists(st.from_regex(r"[A-Za-z]{3,9}", fullmatch=True), max_size=5).filter(
    lambda ws: not ws or ws[0].casefold() not in STATUS_WORDS).map(" ".join)


@FUZZ
@given(codes, st.integers(0, 100), status_words, comments, st.booleans(),
       st.sampled_from(["", "%", " %"]), st.randoms())
def test_a_written_report_reads_back(code, progress, word, comment, status_first, percent,
                                     rng):
    parts = [_cases(word, rng), f"{progress}{percent}"]
    if status_first:
        parts.reverse()
    result = parse_report(" ".join([code, *parts, comment]))
    assert result == ReportText(code, progress, STATUS_WORDS[word], comment)


@FUZZ
@given(codes, st.integers(101, 10**30), status_words)
def test_progress_over_100_is_refused_with_what_was_typed(code, progress, word):
    result = parse_report(f"{code} {progress} {word}")
    assert isinstance(result, ReportTextError) and result.word == str(progress)


# -- VOTE and IDEA ----------------------------------------------------------------------------


@FUZZ
@given(hostile_text, st.booleans())
def test_parse_votes_reads_any_text(rest, cumulative):
    selection, bad = parse_votes(rest, cumulative)
    assert all(0 <= code <= 999_999 and 1 <= points <= 10_000 * MAX_TOKENS
               for code, points in selection.items())
    assert all(token and len(token) <= 12 for token in bad)
    assert len(selection) + len(bad) <= MAX_TOKENS
    if not cumulative:
        assert set(selection.values()) <= {1}


@FUZZ
@given(st.dictionaries(st.integers(0, 999_999), st.integers(1, 9_999), max_size=20),
       st.sampled_from([" ", ", ", ",", " # ", "  ", ". "]), st.sampled_from([":", "=", "x"]))
def test_a_written_ballot_reads_back(selection, separator, points_mark):
    approval = separator.join(str(code) for code in selection)
    assert parse_votes(f"  {approval} ", False) == (dict.fromkeys(selection, 1), [])
    cumulative = separator.join(f"{code}{points_mark}{n}" for code, n in selection.items())
    assert parse_votes(cumulative, True) == (selection, [])


@FUZZ
@given(hostile_text)
@example("9" * 5000)  # was ValueError: more digits than int() converts
@example("9" * 400 + "K")  # was OverflowError: float infinity
@example("1" * 4301 + "M")
def test_parse_amount_reads_any_token(token):
    amount = parse_amount(token)
    assert amount is None or (isinstance(amount, int) and amount >= 0)


@FUZZ
@given(st.integers(1, 10**12))
def test_a_written_amount_reads_back(amount):
    assert parse_amount(str(amount)) == amount
    assert parse_amount(f"{amount:,}") == amount
    assert parse_amount(f"{amount}K") == amount * 1_000
    assert parse_amount(f"{amount}m") == amount * 1_000_000


@FUZZ
@given(st.integers(0, 10**6), st.integers(0, 999), st.sampled_from([".", ","]))
@example(1, 5, ".")  # "1.005K" was read as 1004 (float arithmetic)
def test_a_written_decimal_amount_reads_back(whole, thousandths, mark):
    assert parse_amount(f"{whole}{mark}{thousandths:03d}K") == whole * 1_000 + thousandths
    assert parse_amount(f"{whole}{mark}{thousandths:03d}M") == (
        whole * 1_000_000 + thousandths * 1_000)


@FUZZ
@given(st.dictionaries(st.integers(0, 10**6), st.integers(0, 10**4), max_size=12))
def test_ballot_selection_encoding_reads_back(selection):
    assert ballot_rules.decode(ballot_rules.encode(selection)) == selection


@FUZZ
@given(hostile_text)
def test_ballot_selection_decodes_any_text(text):
    assert isinstance(ballot_rules.decode(text), dict)


# -- USSD input validators (the parsers of what a caller types into a flow) ------------------

def ussd_validators() -> dict[str, Validator]:
    """Every validator a flow may name: the engine's and each feature's."""
    return dict(product().capabilities.validators)


@FUZZ
@given(st.deferred(lambda: st.sampled_from(sorted(ussd_validators()))), hostile_text)
@example("percent", "²")  # was ValueError: "²".isdigit() but int() refuses it
@example("pmc_progress", "²")
@example("digits", "²")
@example("percent", "9" * 5000)  # was ValueError: more digits than int() converts
@example("pmc_progress", "9" * 5000)
@example("digits", "9" * 5000)
@example("idea_cost", "9" * 400 + "K")
def test_validators_answer_any_input(name, raw):
    result = ussd_validators()[name](raw)
    assert isinstance(result, Valid | Invalid)
    if isinstance(result, Valid) and name in ("digits", "percent", "pmc_progress"):
        assert result.value.isascii() and int(result.value) >= 0  # what the flows go on to use
    if isinstance(result, Valid) and name in ("percent", "pmc_progress"):
        assert 0 <= int(result.value) <= 100


@FUZZ
@given(st.integers(0, 100), st.sampled_from(["", "%", " %", " "]))
def test_a_typed_percent_reads_back(number, suffix):
    for validate in (validators.percent, pmc_progress):
        assert validate(f" {number}{suffix}") == Valid(str(number))


@FUZZ
@given(hostile_text)
@example("١٢٣٤٥٦٧")  # Arabic-Indic digits: not the same voter as 1234567
def test_national_id_is_ascii_digits_or_refused(raw):
    try:
        value = normalise_national_id(raw)
    except InvalidNationalId:
        return
    assert value.isascii() and value.isdigit() and len(value) <= 10


@FUZZ
@given(st.integers(100_000, 9_999_999_999), st.sampled_from(["", " ", "-"]))
def test_a_typed_national_id_reads_back(number, separator):
    typed = separator.join(str(number)[i:i + 3] for i in range(0, len(str(number)), 3))
    assert normalise_national_id(typed) == str(number)


# -- phone numbers, dates, ticket references --------------------------------------------------


@FUZZ
@given(hostile_text, st.sampled_from(["KE", "UG", "TZ"]))
def test_phone_numbers_are_e164_or_refused(raw, region):
    try:
        msisdn = normalise_msisdn(raw, region)
    except InvalidPhoneNumber:
        return
    assert msisdn.startswith("+") and msisdn[1:].isascii() and msisdn[1:].isdigit()
    assert len(mask(msisdn)) == len(msisdn) and "****" in mask(msisdn)


@FUZZ
@given(st.from_regex(r"7[0-9]{8}", fullmatch=True))
def test_a_plus_decoded_as_a_space_reads_back(local):
    msisdn = f"+254{local}"
    for typed in (msisdn, f" 254{local}", f"254{local}", f"0{local}"):
        assert normalise_msisdn(typed, "KE") == msisdn


@FUZZ
@given(hostile_text)
def test_at_dates_parse_or_are_none(raw):
    parsed = parse_at_date(raw)
    assert parsed is None or parsed.tzinfo is not None


@FUZZ
@given(hostile_text)
def test_ticket_references_check_any_text(raw):
    assert references.is_valid(raw) in (True, False)
    assert len(references.cleaned(raw)) <= references.MAX_LENGTH + 1


@FUZZ
@given(st.randoms(use_true_random=False), st.data())
def test_one_mistyped_or_swapped_digit_is_caught(rng, data):
    reference = references.new_reference(rng)
    assert references.is_valid(reference)
    at = data.draw(st.integers(0, len(reference) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != reference[at]]))
    assert not references.is_valid(reference[:at] + digit + reference[at + 1:])
    if at + 1 < len(reference) and reference[at] != reference[at + 1]:
        swapped = reference[:at] + reference[at + 1] + reference[at] + reference[at + 2:]
        assert not references.is_valid(swapped)


@pytest.mark.parametrize("word", ["STOP", "stop", "Acha", "STOPALL", "unsubscribe", "START",
                                  "anza", "subscribe"])
def test_opt_out_words_are_found(word):
    keyword = registry().find(parse_text(f"{word}!").keyword)
    assert keyword is not None and keyword.handler.__module__ == "app.services.sms_optout"
