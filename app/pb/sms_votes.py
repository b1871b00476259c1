"""SMS keywords of participatory budgeting: VOTE (KURA), RECEIPT (RISITI), IDEA (WAZO).

- `VOTE 3 12 7`: commas, '#', dots and extra spaces are tolerated; cumulative ballots take
  `VOTE 3:4 12:6` (a bare code is one point, a repeated code adds up). `VOTE` alone lists the
  proposals. The voter's place is their registered place for the open round, else the
  contact's ward, which is then registered (the first answer stands for the round). The
  ballot is judged before anything is written: unknown codes, over budget (by how much), too
  many (max k) and too many points each get a correction and record nothing. A valid ballot
  replaces the voter's earlier one (the latest counts) and any unconfirmed USSD draft.
  Rounds keyed on national ID numbers are voted by USSD only: an ID number in an SMS would be
  stored with the message.
- `RECEIPT 1234567890`: says whether that receipt belongs to a current ballot of this
  organization, never what it holds. A changed ballot has a new receipt; the old one is gone.
- `IDEA <cost> <text>` (e.g. `IDEA 400000 Borehole at the market`, or 400K / 1.2M): a
  proposal in the cycle collecting ideas (phase PROPOSALS) for the sender's registered place
  or ward, status submitted, submitted via SMS. A proposal needs a cost, and a made-up one
  would mislead: an idea without a leading amount gets a reply asking for a rough one
  (officers correct it on review). With no place known, the organization's only cycle
  collecting ideas takes it; otherwise the sender is told we do not know their ward. The
  place and the stored proposal come from app.pb.ideas, as for ideas sent by USSD.
Keywords are not advertised in HELP yet (its text is fixed by the foundation's tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.db.models import Cycle, Organization
from app.engine.flow import N_
from app.pb import ballots, ideas, rounds
from app.pb.ballot_rules import BallotKind, BallotSpec, Problem, judge
from app.pb.ballot_text import fill, money, priced, short_title
from app.pb.drafts import DraftStore
from app.pb.proposals import ProposalError, accepted
from app.pb.voters import Keyring
from app.services.sms_keywords import Gettext, Keyword, KeywordRegistry, SmsRequest

VOTE_WORDS = {"en": "VOTE", "sw": "KURA"}
# Lines of the HELP text ({word} is the keyword in the resident's language); short, so that
# the whole help fits in one SMS.
VOTE_HELP = N_("{word} 3 12 7 - vote")
RECEIPT_HELP = N_("{word} <code> - check vote")
IDEA_HELP = N_("{word} <cost> <idea>")
RECEIPT_WORDS = {"en": "RECEIPT", "sw": "RISITI"}
IDEA_WORDS = {"en": "IDEA", "sw": "WAZO"}

# No choices in the reply: the outbox keeps it next to the number (the voter just typed them).
VOTE_RECORDED = N_("Your vote is recorded. Receipt: {receipt}. You may change it until voting "
                   "closes.")
NOT_OPEN = N_("Budget voting is not open now.")
NEEDS_ID = N_("This vote needs your national ID number. Please vote by dialling {ussd}.")
REGISTER_FIRST = N_("To vote, first choose your ward: dial {ussd}.")
NO_VOTE_IN_PLACE = N_("There is no budget vote open in {place} now.")
UNKNOWN_CODES = N_("Unknown project number(s): {codes}. Nothing was recorded. Send {word} alone "
                   "for the list.")
OVER_BUDGET = N_("Over budget by {over}: your choices cost {total} of {budget}. Nothing was "
                 "recorded.")
TOO_MANY = N_("Choose at most {k} projects. Nothing was recorded.")
ONLY_ONE = N_("Choose one project only. Nothing was recorded.")
TOO_MANY_POINTS = N_("You have {points} points and gave {given}. Nothing was recorded.")
NOT_RECORDED = N_("Sorry, your vote was not recorded. Please try again.")
LIST_APPROVAL = N_("{cycle}, budget {budget}. Send {word} and numbers, e.g. {word} {example}")
LIST_K = N_("{cycle}: choose up to {k}. Send {word} and numbers, e.g. {word} {example}")
LIST_ONE = N_("{cycle}: choose one. Send {word} and its number, e.g. {word} {example}")
LIST_POINTS = N_("{cycle}: spread {points} points. Send {word} number:points, e.g. {word} "
                 "{example}")

RECEIPT_OK = N_("Receipt {receipt} is valid: your vote in {cycle} is counted.")
RECEIPT_UNKNOWN = N_("No current vote has receipt {receipt}. If you changed your vote, use the "
                     "newest receipt.")
RECEIPT_USAGE = N_("To check your vote, send {word} and the receipt number, e.g. {word} "
                   "1234567890")

IDEA_USAGE = N_("Send {word}, a rough cost and your idea, e.g. {word} 400000 Borehole at the "
                "market")
IDEAS_CLOSED = N_("We are not collecting budget ideas now.")
IDEAS_NOT_HERE = N_("We are not collecting budget ideas for {place} now.")
IDEA_NO_PLACE = N_("We do not know your ward yet, so we cannot file your idea. Please contact "
                   "{org_name}.")
IDEA_TOO_COSTLY = N_("That cost is more than the whole budget ({budget}). Please check it.")
IDEA_THANKS = N_("Thank you. Your idea is number {code} in {cycle}. Officers will review it.")

LIST_LENGTH = 450  # three SMS parts
MAX_TOKENS = 60
_SPLIT = re.compile(r"[\s,;#.]+")
_VOTE = re.compile(r"^(\d{1,6})(?:[:=xX*](\d{1,4}))?$")
_AMOUNT = re.compile(r"^(\d+(?:[.,]\d+)*)([kKmM]?)$")
# Longer is no budget figure; int() and float() would raise on thousands of digits.
MAX_AMOUNT_CHARS = 24


def parse_votes(rest: str, cumulative: bool) -> tuple[dict[int, int], list[str]]:
    """'3, 12 #7' -> ({3: 1, 12: 1, 7: 1}, []); what is not a code comes back as it was."""
    selection: dict[int, int] = {}
    bad: list[str] = []
    for token in _SPLIT.split(rest.strip(" :-"))[:MAX_TOKENS]:
        if not token:
            continue
        match = _VOTE.match(token)
        if match is None:
            bad.append(token[:12])
            continue
        code, points = int(match[1]), int(match[2]) if match[2] else 1
        if points:
            selection[code] = selection.get(code, 0) + points if cumulative else 1
    return selection, bad


def parse_amount(token: str) -> int | None:
    """'400000', '400,000', '400K', '1.2M' -> whole units; None if it is not an amount."""
    match = _AMOUNT.match(token.strip())
    if match is None or len(match[0]) > MAX_AMOUNT_CHARS:
        return None
    number, suffix = match.groups()
    if not suffix:
        return int(re.sub(r"[.,]", "", number))
    try:  # Decimal, not float: 1.005K is 1005, not 1004.99...
        value = Decimal(number.replace(",", "."))
    except InvalidOperation:
        return None
    return int(value * (1_000 if suffix.lower() == "k" else 1_000_000))


@dataclass(frozen=True)
class PbKeywords:
    keyring: Keyring
    drafts: DraftStore | None = None

    def register(self, registry: KeywordRegistry) -> None:
        registry.register(Keyword(VOTE_WORDS, self.vote, VOTE_HELP, keeps_text=False))
        registry.register(Keyword(RECEIPT_WORDS, self.receipt, RECEIPT_HELP))
        registry.register(Keyword(IDEA_WORDS, self.idea, IDEA_HELP))

    # -- VOTE ------------------------------------------------------------------------------

    def vote(self, request: SmsRequest) -> str:
        db, org, contact = request.db, request.organization, request.contact
        _ = request.gettext_for(request.language)
        word = VOTE_WORDS.get(request.language, VOTE_WORDS["en"])
        round_name = rounds.open_round(db, org.id)
        if round_name is None:
            return _(NOT_OPEN)
        if rounds.uses_national_id(db, org.id, round_name):
            return fill(_(NEEDS_ID), ussd=rounds.ussd_code(org))
        identity = contact.msisdn
        place, unregistered = rounds.home_place(db, self.keyring, contact, round_name, identity)
        if place is None:
            return fill(_(REGISTER_FIRST), ussd=rounds.ussd_code(org))
        cycle = rounds.cycle_in_round(db, org.id, round_name, place)
        if cycle is None:
            return fill(_(NO_VOTE_IN_PLACE), place=place.name)
        spec = ballots.spec_for(cycle)
        selection, bad = parse_votes(request.text.rest, spec.kind == BallotKind.CUMULATIVE)
        if not selection and not bad:
            return _listing(cycle, spec, org, word, request.language, _)
        unknown = sorted({str(c) for c in selection if c not in spec.costs}, key=_by_number)
        if unknown or bad:
            return fill(_(UNKNOWN_CODES), codes=", ".join(unknown + bad), word=word)
        refusal = _refusal(spec, selection, org.currency, _)
        if refusal:
            return refusal
        if unregistered:
            ballots.register_place(db, self.keyring, org.id, round_name, identity, place)
        try:
            cast = ballots.cast_ballot(db, self.keyring, cycle, identity, selection, "sms",
                                       contact.id)
        except ballots.VoteRefused:
            return _(NOT_RECORDED)
        if self.drafts is not None:
            self.drafts.discard(self.keyring.ballot_tag(cycle.id, identity))
        return fill(_(VOTE_RECORDED), receipt=cast.receipt)

    # -- RECEIPT ---------------------------------------------------------------------------

    def receipt(self, request: SmsRequest) -> str:
        _ = request.gettext_for(request.language)
        word = RECEIPT_WORDS.get(request.language, RECEIPT_WORDS["en"])
        code = "".join(ch for ch in request.text.rest[:40] if ch.isdigit())
        if not code:
            return fill(_(RECEIPT_USAGE), word=word)
        ballot = ballots.ballot_by_receipt(request.db, self.keyring, request.organization.id, code)
        if ballot is None:
            return fill(_(RECEIPT_UNKNOWN), receipt=code[:ballots.RECEIPT_DIGITS + 2])
        cycle = request.db.get(Cycle, ballot.cycle_id)
        return fill(_(RECEIPT_OK), receipt=code, cycle=cycle.name)

    # -- IDEA ------------------------------------------------------------------------------

    def idea(self, request: SmsRequest) -> str:
        db, org, contact = request.db, request.organization, request.contact
        _ = request.gettext_for(request.language)
        word = IDEA_WORDS.get(request.language, IDEA_WORDS["en"])
        first, _sep, text = request.text.rest.strip(" :-").partition(" ")
        cost, text = parse_amount(first), " ".join(text.split())
        if cost is None or cost <= 0 or not text:
            return fill(_(IDEA_USAGE), word=word)
        if not ideas.collecting_rounds(db, org.id):
            return _(IDEAS_CLOSED)
        place = ideas.home_place(db, self.keyring, org.id, contact.msisdn)
        cycle = rounds.proposals_cycle_for(db, org.id, place)
        if cycle is None:
            if place is not None:
                return fill(_(IDEAS_NOT_HERE), place=place.name)
            return fill(_(IDEA_NO_PLACE), org_name=org.name)
        if cost > cycle.budget:
            return fill(_(IDEA_TOO_COSTLY), budget=priced(cycle.budget, org.currency))
        try:
            proposal = ideas.submit_idea(db, cycle, text, cost, place, via="sms")
        except ProposalError:
            return fill(_(IDEA_USAGE), word=word)
        return fill(_(IDEA_THANKS), code=proposal.code, cycle=cycle.name)


def _listing(cycle: Cycle, spec: BallotSpec, org: Organization, word: str, language: str,
             _: Gettext) -> str:
    """The proposals of the voter's cycle, as much as fits in three SMS parts."""
    items = accepted(cycle)
    codes = [p.code for p in items]
    example = " ".join(map(str, codes[:2]))
    if spec.kind == BallotKind.CUMULATIVE:
        example, template = (" ".join(f"{c}:{n}" for c, n in zip(codes[:2], (2, 1), strict=False)),
                             LIST_POINTS)
    elif spec.kind == BallotKind.CHOOSE_ONE:
        example, template = str(codes[0]) if codes else "1", LIST_ONE
    elif spec.kind == BallotKind.K_APPROVAL:
        template = LIST_K
    else:
        template = LIST_APPROVAL
    lines = [fill(_(template), cycle=cycle.name, word=word, example=example,
                  k=spec.max_choices or 0, points=spec.points or 0,
                  budget=priced(spec.budget, org.currency))]
    for p in items:
        line = f"{p.code} {short_title(p.title_in(language), 24)} {money(p.cost)}"
        if len("\n".join(lines + [line])) > LIST_LENGTH - 4:
            lines.append("...")
            break
        lines.append(line)
    return "\n".join(lines)


def _refusal(spec: BallotSpec, selection: dict[int, int], currency: str, _: Gettext) -> str:
    verdict = judge(spec, selection)
    if verdict.ok:
        return ""
    if verdict.problem == Problem.OVER_BUDGET:
        total = sum(spec.costs[c] for c in selection)
        return fill(_(OVER_BUDGET), over=priced(int(verdict.detail), currency),
                    total=priced(total, currency), budget=money(spec.budget))
    if verdict.problem == Problem.TOO_MANY:
        return _(ONLY_ONE) if spec.kind == BallotKind.CHOOSE_ONE else \
            fill(_(TOO_MANY), k=verdict.detail)
    if verdict.problem == Problem.TOO_MANY_POINTS:
        return fill(_(TOO_MANY_POINTS), points=spec.points or 0, given=sum(selection.values()))
    return _(NOT_RECORDED)


def _by_number(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (10**9, code)
