"""What flows/vote.yaml calls: the lookups, validator and effects of voting by USSD.

The flow, screen by screen (answers it keeps are named pb_*):
- `pb_open`: no cycle in VOTING -> a polite END. Otherwise the open round (app.pb.rounds) and
  whether it is keyed on national ID numbers; if so the voter types the number, checked by
  `national_id` (app.pb.voters.normalise_national_id). The normalised number stays in the
  session's answers only (Redis, with the session's TTL, where AT's cumulative `text` holds
  it anyway) and reaches the database only as keyed tags.
- `pb_where`: a registered voter goes to their cycle, or to an END naming their place when no
  cycle of the round is open there. A first-time voter confirms the contact's ward when it
  has an open cycle, else picks a sub-county, then a ward (paged lists; the sub-county step is
  skipped when all wards share one parent). A ward with no open cycle ends the session and
  registers nothing; otherwise "Vote in X? 1. Yes" registers the place with an Action
  (`pb_register`): the first answer stands for the round.
- `pb_load`: the selection to start from: an unconfirmed draft from an earlier session within
  10 minutes (app.pb.drafts), else the current ballot (a voter may change it while voting is
  open; the latest counts), else nothing.
- The ballot: "99. Done" first (typed from any page), then the accepted proposals keyed by
  their code, "*" marking chosen ones, with what is left above the list and a note after a
  refused toggle. Each change goes through app.pb.ballot_rules.toggle in a Call returning
  Update, and is saved as a draft (`pb_draft`). Choose-one goes straight to the summary;
  cumulative asks for points (0 removes).
- Summary, then Confirm: `pb_recheck` validates against the database (phase, place, rules)
  before the receipt is made, so the final screen is honest. `pb_cast` re-validates in the
  hop's transaction; if voting closed in the milliseconds between, the vote is not recorded
  and the voter gets an SMS apology instead of the receipt SMS. Either SMS is an outbox row
  written in that transaction; the gateway hands it to the sender after commit. The receipt
  ends the session ("Thank you. Your vote is recorded. Receipt: ..."), or heads the consent
  question the first time. A session replayed from AT's text confirming the same choices
  gets the same receipt (app.pb.drafts), finds it on the ballot, and applies nothing again.
  Not covered: a first-time voter's session replayed after its ward was registered takes the
  registered path, so its later inputs shift (the language question has the same limit).
- Profile questions, once per contact, after the first confirmed ballot: consent, then
  gender, age band and the Washington Group short question, each skippable. Declining stores
  "skipped" answers so nobody is asked twice. VoterProfile holds the contact, never a ballot.

Lookups read the database through the session factory, which inside a USSD hop is one session
shared by the hop's lookups and effects (app.services.hop_db). Places, open cycles and a cycle's
ballot (proposals, phase) are kept between hops while the reference data revision stays the
same (app.services.hop_cache: an officer's edit is seen from the next hop); the cast reads the
phase again in its own transaction before it writes. The hop's writes (place, ward, ballot,
profile) are plain statements on the tables, upserts where the ORM would read first.
`PbFlows()` without a database is what `baraza flows check` uses: names and sizes only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    Ballot,
    Channel,
    Contact,
    Cycle,
    Organization,
    Phase,
    Place,
    SendLane,
    VoterProfile,
)
from app.db.upserts import dialect_of, insert_for
from app.engine.flow import N_, Choice, Invalid, Lookup, Query, Update, Valid, Validator
from app.pb import ballots, rounds
from app.pb.ballot_rules import (
    BallotKind,
    BallotSpec,
    Problem,
    Verdict,
    decode,
    encode,
    judge,
    remaining,
    toggle,
)
from app.pb.ballot_text import (
    ASK_LENGTH,
    POINTS_NOW,
    STATUS_LENGTH,
    SUMMARY_LENGTH,
    fill,
    proposal_label,
    short_title,
    status_text,
    summary_text,
)
from app.pb.drafts import Draft, DraftStore
from app.pb.flow_places import OpenCycles, PlaceTree
from app.pb.proposals import accepted
from app.pb.sms_votes import RECEIPT_WORDS
from app.pb.voters import InvalidNationalId, Keyring, normalise_national_id
from app.services import contacts, outbox
from app.services.hop_cache import HopCache, Revision
from app.services.hop_db import HopSessions, hop_notes, hop_sessions, remembered

if TYPE_CHECKING:
    from app.engine import Effect
    from app.services.flow_host import EffectContext

Gettext = Callable[[str], str]

# Session answers the vote flow keeps.
ROUND, NID, PLACE, CYCLE = "pb_round", "pb_nid", "pb_place", "pb_cycle"
SUB, WARD, SEL, NOTE, BASE = "pb_sub", "pb_ward", "pb_sel", "pb_note", "pb_base"
PICK, CODE, POINTS, RECEIPT = "pb_pick", "pb_code", "pb_pts", "pb_receipt"
CONSENT, GENDER, AGE, DISABILITY = "pf_consent", "pf_gender", "pf_age", "pf_disability"
TOP = "top"  # wards with no parent place
DONE_KEY = "99"

DONE = N_("Done")
BAD_ID = N_("An ID number has 6 to 10 digits.")
RECEIPT_SMS = N_("Your vote in {cycle} is recorded. Receipt: {receipt}. To check it, send "
                 "{word} {receipt} to {short_code}.")
SORRY_CLOSED = N_("Sorry, your vote in {cycle} was not recorded: voting has closed.")
SORRY_REFUSED = N_("Sorry, your vote in {cycle} was not recorded. Please dial {ussd} and try "
                   "again.")

PLACE_NAME_LENGTH = 30
FRESH_RECEIPTS = "pb.fresh_receipts"  # hop note: (cycle id, receipt) made up in this hop
RECEIPT_LENGTH = ballots.RECEIPT_DIGITS
CYCLE_NAME_IN_SMS = 40

PROFILE_VALUES = {
    GENDER: ("female", "male", "other"),
    AGE: ("under18", "18-24", "25-34", "35-49", "50-64", "65+"),
    DISABILITY: ("yes", "no"),
}
SKIPPED = "skipped"

EffectHandler = Callable[[Session, "EffectContext", "Effect"], "list[int] | None"]


@dataclass(frozen=True)
class Item:
    code: int
    title: str
    titles: Mapping[str, str]
    cost: int
    proposal_id: int = 0

    def title_in(self, language: str) -> str:
        return self.titles.get(language) or self.title


@dataclass(frozen=True)
class BallotView:
    """What the ballot screens show of a cycle, as of the hop's reference data revision
    (app.services.hop_cache); the cast reads the phase again before it writes."""

    cycle_id: int
    organization_id: int
    name: str
    spec: BallotSpec
    currency: str
    items: tuple[Item, ...]
    phase: str = Phase.VOTING
    round: str = ""
    place_id: int = 0

    @classmethod
    def of(cls, cycle: Cycle, currency: str) -> BallotView:
        items = tuple(Item(p.code, p.title, dict(p.titles or {}), p.cost, p.id)
                      for p in accepted(cycle))
        return cls(cycle.id, cycle.organization_id, cycle.name, ballots.spec_for(cycle),
                   currency, items, cycle.phase, cycle.round, cycle.place_id)

    def item(self, code: int) -> Item | None:
        return next((i for i in self.items if i.code == code), None)


@dataclass(frozen=True)
class Codes:
    """An organization's USSD code, SMS short code and sender (None: AT's default)."""

    ussd: str
    sms: str
    sender: str | None


def _plain(text: str) -> str:
    return text


@dataclass
class PbFlows:
    """The vote flow's capabilities; built once by the runtime with its database and keys."""

    sessions: sessionmaker[Session] | HopSessions | None = None
    keyring: Keyring | None = None
    drafts: DraftStore | None = None
    gettext_for: Callable[[str], Gettext] = lambda language: _plain
    clock: Callable[[], float] = time.monotonic
    # Reference data's revision; without it nothing is kept between lookups.
    revision: Revision | None = None
    _cache: HopCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Inside a USSD hop every lookup shares the hop's session (app.services.hop_db).
        self.sessions = hop_sessions(self.sessions) if self.sessions is not None else None
        self._cache = HopCache(self.revision, self.clock)

    # -- what the host registers ---------------------------------------------------------

    def lookups(self) -> dict[str, Lookup]:
        return {
            "pb_open": Lookup(self.open),
            "pb_where": Lookup(self.where),
            "pb_place_name": Lookup(self.place_name, PLACE_NAME_LENGTH),
            "pb_areas": Lookup(self.areas),
            "pb_subcounties": Lookup(self.subcounties),
            "pb_wards": Lookup(self.wards),
            "pb_ward_name": Lookup(self.ward_name, PLACE_NAME_LENGTH),
            "pb_ward_check": Lookup(self.ward_check),
            "pb_load": Lookup(self.load),
            "pb_status": Lookup(self.status, STATUS_LENGTH),
            "pb_ballot": Lookup(self.ballot),
            "pb_pick": Lookup(self.pick),
            "pb_points_ask": Lookup(self.points_ask, ASK_LENGTH),
            "pb_set_points": Lookup(self.set_points),
            "pb_review": Lookup(self.review),
            "pb_summary": Lookup(self.summary, SUMMARY_LENGTH),
            "pb_recheck": Lookup(self.recheck),
            "pb_new_receipt": Lookup(self.new_receipt, RECEIPT_LENGTH),
            "pb_profile_wanted": Lookup(self.profile_wanted),
        }

    def validators(self) -> dict[str, Validator]:
        return {"national_id": national_id}

    def handlers(self) -> dict[str, EffectHandler]:
        return {
            "pb_register": self.register,
            "pb_draft": self.keep_draft,
            "pb_cast": self.cast,
            "pb_profile": self.save_profile,
        }

    @property
    def online(self) -> bool:
        return self.sessions is not None and self.keyring is not None

    # -- where the voter votes -------------------------------------------------------------

    def open(self, q: Query) -> object:
        """'none', or the round's voter key ('phone' / 'national_id') with the round saved."""
        if not self.online:
            return "none"
        open_cycles = self._open_cycles(_org(q))
        round_name = open_cycles.open_round()
        if round_name is None:
            return "none"
        by_id = open_cycles.uses_national_id(round_name)
        return Update("national_id" if by_id else "phone", {ROUND: round_name, NID: ""})

    def where(self, q: Query) -> object:
        """'open' (registered, cycle found), 'elsewhere' (registered, nothing open there),
        'suggest' (the contact's ward has a vote) or 'new' (ask for the ward)."""
        org, round_name = _org(q), q.answers.get(ROUND, "")
        tree, open_cycles = self._places(org), self._open_cycles(org)
        with self.sessions() as db:
            place_id = ballots.registered_place_id(db, self.keyring, org, round_name,
                                                   _identity(q))
            if place_id is None:
                ward_id = _contact_facts(db, org, q.msisdn).ward_id
                if ward_id in tree.names and open_cycles.cycle_in_round(round_name,
                                                                        tree.chain(ward_id)):
                    return Update("suggest", {WARD: str(ward_id)})
                return "new"
        cycle = open_cycles.cycle_in_round(round_name, tree.chain(place_id))
        if cycle is None:
            return Update("elsewhere", {PLACE: str(place_id)})
        return Update("open", {PLACE: str(place_id), CYCLE: str(cycle.id)})

    def place_name(self, q: Query) -> str:
        return self._name_of(q, q.answers.get(PLACE, ""))

    def ward_name(self, q: Query) -> str:
        return self._name_of(q, q.answers.get(WARD, ""))

    def areas(self, q: Query) -> object:
        """'many' sub-counties to choose from, or 'one' (saved, the step is skipped)."""
        groups = self._places(_org(q)).groups()
        if len(groups) > 1:
            return "many"
        only = groups[0] if groups else None
        return Update("one", {SUB: str(only) if only is not None else TOP})

    def subcounties(self, q: Query) -> list[Choice]:
        if not self.online:
            return []
        tree = self._places(_org(q))
        return [Choice(tree.names.get(p, ""), str(p)) for p in tree.groups() if p is not None]

    def wards(self, q: Query) -> list[Choice]:
        if not self.online:
            return []
        sub = q.answers.get(SUB, TOP)
        parent = None if sub == TOP or not sub.isdigit() else int(sub)
        tree = self._places(_org(q))
        return [Choice(tree.names[p], str(p)) for p in tree.leaves if tree.parents[p] == parent]

    def ward_check(self, q: Query) -> object:
        """'open' with the cycle saved, or 'none' when the ward has no open cycle."""
        org, ward = _org(q), _int(q.answers.get(WARD, ""))
        tree = self._places(org)
        if ward not in tree.names:
            return "none"
        cycle = self._open_cycles(org).cycle_in_round(q.answers.get(ROUND, ""), tree.chain(ward))
        if cycle is None:
            return "none"
        return Update("open", {CYCLE: str(cycle.id), PLACE: str(ward)})

    # -- the ballot ------------------------------------------------------------------------

    def load(self, q: Query) -> object:
        """Start from a draft left by another session, else the current ballot. A session
        replayed from AT's text starts where it first started (see app.pb.drafts)."""
        view = self._view(q)
        if view is None:
            return Update("ok", {SEL: "", BASE: "", NOTE: ""})
        draft = self._draft(view.cycle_id, q)
        if draft is not None and draft.session_id == q.vars.get("session_id"):
            selection, note = decode(draft.base), ""
        elif draft is not None and not draft.receipt:
            selection, note = decode(draft.selection), "resumed"
        else:
            with self.sessions() as db:
                selection = ballots.selection_in(db, self.keyring, view.cycle_id, _identity(q),
                                                 {i.proposal_id: i.code for i in view.items})
            note = "voted" if selection else ""
        start = encode(_known(view, selection))
        return Update("ok", {SEL: start, BASE: start, NOTE: note})

    def status(self, q: Query) -> str:
        view = self._view(q)
        if view is None:
            return ""
        _ = self.gettext_for(q.language)
        return status_text(view.spec, _selection(q), q.answers.get(NOTE, ""), view.currency, _)

    def ballot(self, q: Query) -> list[Choice]:
        view = self._view(q)
        if view is None:
            return []
        _ = self.gettext_for(q.language)
        selection = _selection(q)
        cumulative = view.spec.kind == BallotKind.CUMULATIVE
        return [Choice(_(DONE), "done", DONE_KEY, pinned=True)] + [
            Choice(proposal_label(i.title_in(q.language), i.cost, selection.get(i.code),
                                  cumulative), str(i.code), str(i.code))
            for i in view.items
        ]

    def pick(self, q: Query) -> object:
        """'done', 'chosen' (choose-one), 'points' (cumulative) or 'toggled'."""
        view, picked = self._view(q), q.answers.get(PICK, "")
        if view is None or not picked.isdigit():
            return "done"
        code, spec, selection = int(picked), view.spec, _selection(q)
        if spec.kind == BallotKind.CHOOSE_ONE:
            return Update("chosen", {SEL: encode({code: 1}), NOTE: ""})
        if spec.kind == BallotKind.CUMULATIVE:
            return Update("points", {CODE: str(code)})
        changed, verdict = toggle(spec, selection, code)
        return Update("toggled", {SEL: encode(changed), NOTE: _note(verdict, spec, selection)})

    def points_ask(self, q: Query) -> str:
        view, code = self._view(q), _int(q.answers.get(CODE))
        item = view.item(code) if view is not None else None
        if item is None:
            return ""
        _ = self.gettext_for(q.language)
        selection = _selection(q)
        return fill(_(POINTS_NOW), title=f"{code}. {short_title(item.title_in(q.language))}",
                    now=selection.get(code, 0),
                    left=remaining(view.spec, selection))[:ASK_LENGTH]

    def set_points(self, q: Query) -> object:
        view = self._view(q)
        if view is None:
            return "ok"
        code, points, selection = _int(q.answers.get(CODE)), _int(q.answers.get(POINTS)), \
            _selection(q)
        changed, verdict = toggle(view.spec, selection, code, points)
        note = "" if verdict.ok else \
            f"points:{remaining(view.spec, selection) + selection.get(code, 0)}"
        return Update("ok", {SEL: encode(changed), NOTE: note})

    def review(self, q: Query) -> object:
        """'ok' to the summary, 'fix' back to the ballot with a note, or 'closed'. Judged on
        the list the ballot showed; `recheck` judges on the database's before the receipt."""
        view = self._view(q)
        if view is None or view.phase != Phase.VOTING:
            return "closed"
        return _judged(view.spec, _selection(q))

    def summary(self, q: Query) -> str:
        view = self._view(q)
        if view is None:
            return ""
        _ = self.gettext_for(q.language)
        titles = {i.code: short_title(i.title_in(q.language), 30) for i in view.items}
        return summary_text(view.spec, _selection(q), titles, view.currency, _)

    def recheck(self, q: Query) -> object:
        """Right before the receipt: 'ok', 'closed', 'wrong_place' or 'fix'. On the data as
        of this hop (see BallotView); the cast checks the phase again as it writes."""
        view = self._view(q)
        if view is None or view.phase != Phase.VOTING:
            return "closed"
        with self.sessions() as db:
            allowed = ballots.may_vote_in(db, self.keyring, view, _identity(q),
                                          self._places(_org(q)).chain)
        if not allowed:
            return "wrong_place"
        return _judged(view.spec, _selection(q))

    def new_receipt(self, q: Query) -> str:
        """A fresh receipt; the same one when this session confirms the same choices again."""
        cycle_id = _int(q.answers.get(CYCLE))
        draft = self._draft(cycle_id, q)
        if (draft is not None and draft.receipt and draft.session_id == q.vars.get("session_id")
                and draft.selection == q.answers.get(SEL, "")):
            return draft.receipt
        with self.sessions() as db:
            receipt = ballots.new_receipt(db, self.keyring, cycle_id)
        notes = hop_notes()
        if notes is not None:  # no ballot has it: the cast of this hop need not look again
            notes.setdefault(FRESH_RECEIPTS, set()).add((cycle_id, receipt))
        return receipt

    def profile_wanted(self, q: Query) -> bool:
        with self.sessions() as db:
            return not _contact_facts(db, _org(q), q.msisdn).has_profile

    # -- effects, applied by the host in the hop's transaction ---------------------------

    def register(self, db: Session, ctx: EffectContext, effect: Effect) -> None:
        answers = effect.answers
        ward_id = _int(answers.get(WARD, ""))
        if ward_id not in self._places(ctx.organization_id).names:  # not one of its places
            return
        identity = answers.get(NID) or ctx.msisdn
        ballots.settle_place(db, self.keyring, ctx.organization_id, answers.get(ROUND, ""),
                             identity, ward_id)
        if not answers.get(NID):  # the ward of the phone's owner, for SMS votes and ideas
            contacts.settle_ward(db, ctx.organization_id, ctx.msisdn, ward_id)

    def keep_draft(self, db: Session, ctx: EffectContext, effect: Effect) -> None:
        cycle_id = _int(effect.answers.get(CYCLE))
        if self.drafts is None or not cycle_id:
            return
        tag = self.keyring.ballot_tag(cycle_id, effect.answers.get(NID) or ctx.msisdn)
        self.drafts.put(tag, Draft(ctx.session_id, effect.answers.get(SEL, ""),
                                   effect.answers.get(BASE, "")))

    def cast(self, db: Session, ctx: EffectContext, effect: Effect) -> list[int]:
        """Record the ballot and queue the receipt SMS (or an apology); ids to send."""
        answers = effect.answers
        # The cycle's name and codes as the ballot screens showed them; what the ballot
        # must satisfy (phase, place, rules) `cast_ballot` reads in this transaction.
        view = self._view_of(_int(answers.get(CYCLE)))
        if view is None or view.organization_id != ctx.organization_id:
            return []
        identity = answers.get(NID) or ctx.msisdn
        tag = self.keyring.ballot_tag(view.cycle_id, identity)
        receipt = answers.get(RECEIPT, "")
        if receipt and not _fresh(view.cycle_id, receipt) and db.scalar(select(Ballot.id).where(
                Ballot.cycle_id == view.cycle_id, Ballot.voter_tag == tag,
                Ballot.receipt_tag == self.keyring.receipt_tag(view.cycle_id, receipt))) \
                is not None:
            return []  # this very confirm was applied before
        codes = self._codes(ctx.organization_id)
        contact_id = (_contact_id(db, ctx.organization_id, ctx.msisdn)
                      or contacts.ensure_contact(db, ctx.organization_id, ctx.msisdn).id)
        _ = self.gettext_for(effect.language)
        name = view.name[:CYCLE_NAME_IN_SMS]
        try:
            cast = ballots.cast_ballot(db, self.keyring, view.cycle_id, identity, decode(
                answers.get(SEL, "")), "ussd", contact_id, receipt or None,
                self._places(ctx.organization_id).chain)
        except ballots.VoteRefused as refused:
            sorry = SORRY_CLOSED if refused.refusal == ballots.Refusal.NOT_OPEN else SORRY_REFUSED
            body = fill(_(sorry), cycle=name, ussd=codes.ussd)
        else:
            if self.drafts is not None:  # confirmed: nothing to resume; a replay finds it
                self.drafts.put(tag, Draft(ctx.session_id, answers.get(SEL, ""),
                                           answers.get(BASE, ""), cast.receipt))
            body = fill(_(RECEIPT_SMS), cycle=name, receipt=cast.receipt,
                        word=RECEIPT_WORDS.get(effect.language, RECEIPT_WORDS["en"]),
                        short_code=codes.sms)
        return [outbox.queue_sms(db, ctx.organization_id, ctx.msisdn, body, SendLane.REPLY,
                                 sender=codes.sender)]

    def save_profile(self, db: Session, ctx: EffectContext, effect: Effect) -> None:
        """Asked once: the first answers (or the refusal) stand."""
        consent = effect.answers.get(CONSENT) == "yes"

        def answer(name: str) -> str:
            value = effect.answers.get(name, "")
            return value if consent and value in PROFILE_VALUES[name] else SKIPPED

        values = {"gender": answer(GENDER), "age_band": answer(AGE),
                  "disability": answer(DISABILITY)}
        dialect = dialect_of(db)
        # One statement: the caller's contact gets the profile unless it has one.
        if db.execute(_caller_profile(dialect), {"organization_id": ctx.organization_id,
                                                 "msisdn": ctx.msisdn, **values}).rowcount:
            return
        if _contact_id(db, ctx.organization_id, ctx.msisdn) is None:  # the cast makes one
            contact = contacts.ensure_contact(db, ctx.organization_id, ctx.msisdn)
            db.execute(_new_profile(dialect), {"contact_id": contact.id, **values})

    # -- helpers ---------------------------------------------------------------------------

    def _view(self, q: Query) -> BallotView | None:
        if not self.online:
            return None
        view = self._view_of(_int(q.answers.get(CYCLE)))
        return view if view is not None and view.organization_id == _org(q) else None

    def _view_of(self, cycle_id: int) -> BallotView | None:
        if not cycle_id:
            return None
        return self._cache.get(("view", cycle_id), lambda: self._load_view(cycle_id))

    def _load_view(self, cycle_id: int) -> BallotView | None:
        with self.sessions() as db:
            cycle = db.get(Cycle, cycle_id)
            if cycle is None:
                return None
            return BallotView.of(cycle, db.get(Organization, cycle.organization_id).currency)

    def _places(self, organization_id: int) -> PlaceTree:
        def load() -> PlaceTree:
            with self.sessions() as db:
                return PlaceTree.load(db, organization_id)
        return self._cache.get(("places", organization_id), load)

    def _codes(self, organization_id: int) -> Codes:
        """What residents dial, the short code they text and our sender, for the receipt SMS."""
        def load() -> Codes:
            with self.sessions() as db:
                organization = db.get(Organization, organization_id)
                sms_codes = organization.addresses_for(Channel.SMS)
                return Codes(rounds.ussd_code(organization), sms_codes[0] if sms_codes else "",
                             organization.sms_sender)
        return self._cache.get(("codes", organization_id), load)

    def _open_cycles(self, organization_id: int) -> OpenCycles:
        def load() -> OpenCycles:
            with self.sessions() as db:
                return OpenCycles.load(db, organization_id)
        return self._cache.get(("open_cycles", organization_id), load)

    def _draft(self, cycle_id: int, q: Query) -> Draft | None:
        if self.drafts is None or not cycle_id:
            return None
        return self.drafts.get(self.keyring.ballot_tag(cycle_id, _identity(q)))

    def _name_of(self, q: Query, place_id: str) -> str:
        if not self.online:
            return ""
        return self._places(_org(q)).names.get(_int(place_id), "")[:PLACE_NAME_LENGTH]


def national_id(raw: str) -> Valid | Invalid:
    try:
        return Valid(normalise_national_id(raw))
    except InvalidNationalId:
        return Invalid(BAD_ID)


def _org(q: Query) -> int:
    return _int(q.vars.get("organization_id"))


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _identity(q: Query) -> str:
    return q.answers.get(NID) or q.msisdn


def _selection(q: Query) -> dict[int, int]:
    return decode(q.answers.get(SEL, ""))


def _known(view: BallotView, selection: Mapping[int, int]) -> dict[int, int]:
    codes = {i.code for i in view.items}
    return {code: points for code, points in selection.items() if code in codes}


def _note(verdict: Verdict, spec: BallotSpec, selection: Mapping[int, int]) -> str:
    """A refused change as a short code the status line puts into words."""
    if verdict.ok:
        return ""
    if verdict.problem == Problem.OVER_BUDGET:
        return f"over:{verdict.detail}"
    if verdict.problem == Problem.TOO_MANY:
        return f"many:{verdict.detail}"
    if verdict.problem == Problem.TOO_MANY_POINTS:
        return f"points:{remaining(spec, selection)}"
    if verdict.problem == Problem.EMPTY:
        return "empty"
    return ""


def _judged(spec: BallotSpec, selection: dict[int, int]) -> object:
    verdict = judge(spec, selection)
    if verdict.ok:
        return Update("ok", {NOTE: ""})
    if verdict.problem == Problem.UNKNOWN_CODE:  # withdrawn since: drop it, show what is left
        known = {c: p for c, p in selection.items() if c in spec.costs}
        return Update("fix", {SEL: encode(known), NOTE: ""})
    return Update("fix", {NOTE: _note(verdict, spec, {})})


def _place(db: Session, organization_id: int, place_id: str) -> Place | None:
    place = db.get(Place, _int(place_id)) if _int(place_id) else None
    return place if place is not None and place.organization_id == organization_id else None


def _leaves(db: Session, organization_id: int) -> list[Place]:
    """Places with no places inside them: where residents live (wards, districts)."""
    parents = select(Place.parent_id).where(Place.organization_id == organization_id,
                                            Place.parent_id.is_not(None))
    return remembered(db, ("leaves", organization_id), lambda: list(db.scalars(
        select(Place).where(Place.organization_id == organization_id, Place.id.not_in(parents))
        .order_by(Place.name, Place.id))))


def _fresh(cycle_id: int, receipt: str) -> bool:
    """This hop made the receipt up and found no ballot with it (`new_receipt`)."""
    notes = hop_notes()
    return notes is not None and (cycle_id, receipt) in notes.get(FRESH_RECEIPTS, ())


@dataclass(frozen=True)
class ContactFacts:
    """What the vote flow asks of the caller's contact (None, False: no contact yet)."""

    contact_id: int | None
    ward_id: int | None
    has_profile: bool


def _contact_facts(db: Session, organization_id: int, msisdn: str) -> ContactFacts:
    """The caller's contact id, ward and whether their profile was asked, in one statement,
    once per hop until it writes (at Confirm the profile question and the cast both ask)."""
    def read() -> ContactFacts:
        row = db.execute(_CONTACT_FACTS, {"organization_id": organization_id,
                                          "msisdn": msisdn}).first()
        return (ContactFacts(row[0], row[1], row[2] is not None) if row
                else ContactFacts(None, None, False))
    return remembered(db, ("contact_facts", organization_id, msisdn), read)


_CONTACTS, _PROFILES = Contact.__table__, VoterProfile.__table__
_CONTACT_FACTS = (
    select(_CONTACTS.c.id, _CONTACTS.c.ward_id, _PROFILES.c.id)
    .select_from(_CONTACTS.outerjoin(_PROFILES, _PROFILES.c.contact_id == _CONTACTS.c.id))
    .where(_CONTACTS.c.organization_id == bindparam("organization_id"),
           _CONTACTS.c.msisdn == bindparam("msisdn")))


@cache
def _new_profile(dialect: str) -> Insert:
    return insert_for(dialect, _PROFILES).on_conflict_do_nothing(index_elements=["contact_id"])


@cache
def _caller_profile(dialect: str) -> Insert:
    """A profile for the contact with this number, if there is one (answered_at: its
    column's default, filled in by SQLAlchemy)."""
    answers = ("gender", "age_band", "disability")
    caller = select(_CONTACTS.c.id, *(bindparam(name, type_=_PROFILES.c[name].type)
                                      for name in answers)).where(
        _CONTACTS.c.organization_id == bindparam("organization_id"),
        _CONTACTS.c.msisdn == bindparam("msisdn"))
    return insert_for(dialect, _PROFILES).from_select(["contact_id", *answers], caller) \
        .on_conflict_do_nothing(index_elements=["contact_id"])


def _contact_id(db: Session, organization_id: int, msisdn: str) -> int | None:
    return _contact_facts(db, organization_id, msisdn).contact_id
