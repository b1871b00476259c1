"""The feedback line's voice menu: one AT callback in, one XML reply out.

Where a call is in the menu lives in its VoiceCall row (one per `sessionId`). Every reply that
waits for the caller gets the next *turn* number, carried in the `callbackUrl` of its GetDigits
or Record; the callback that answers it brings the number back. So a callback AT repeats (same
turn) is answered with the stored reply and applied once, while the caller pressing the same
wrong key twice (two turns) moves on. A ticket is opened once per call (`voice:<sessionId>`).

GetDigits falls through silently when the caller presses nothing, so every menu is sent as
"ask, 'we did not hear you', ask again, goodbye": no input repeats the menu once, with no
round trip. A wrong key is counted here (`misses`): one repeat, then goodbye.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.channels.at_voice import (
    Action,
    Dial,
    Enqueue,
    GetDigits,
    Prompt,
    Record,
    Say,
    VoiceForm,
    render,
)
from app.channels.phone import InvalidPhoneNumber, mask, normalise_msisdn
from app.db.base import utcnow
from app.db.models import (
    Channel,
    Organization,
    Role,
    TicketCategory,
    TicketChannel,
    User,
    VoiceCall,
)
from app.digits import whole_or_none
from app.services.organizations import organization_for
from app.tickets import notices
from app.tickets.desk import Desk
from app.tickets.tickets import Found, NewTicket, look_up, open_ticket
from app.tickets.voice_config import VoiceConfig
from app.tickets.voice_prompts import (
    ENGLISH,
    NOT_IN_SERVICE,
    TEXTS,
    Speaker,
    language_choices,
)

log = logging.getLogger(__name__)

DIGITS_TIMEOUT = 20  # seconds to press a key (AT's default is 30: long on a toll-free line)
REFERENCE_TIMEOUT = 30  # a reference is read off an SMS and typed
MAX_MISSES = 2  # a wrong key, or a reference not found: one more try, then goodbye
MAX_AGENTS = 10  # numbers in one Dial
RECORDING_DESCRIPTION = "Voice recording left on the feedback line"
REPLY_URL = "@@reply-url@@"  # stands for the callback URL in a stored reply
SendNotices = Callable[[list[int]], None]


class Step(StrEnum):
    """What the call waits for (VoiceCall.state)."""

    START = "start"
    LANGUAGE = "language"
    MENU = "menu"
    RECORDING = "recording"
    REFERENCE = "reference"
    OFFER = "offer"  # no agent answered, or none is there: 1 leaves a complaint
    QUEUED = "queued"  # in AT's queue: nothing more comes from us
    DONE = "done"


@dataclass(frozen=True)
class Callback:
    """One callback as the web layer saw it."""

    form: VoiceForm
    turn: int | None = None  # from our callbackUrl; None on the first POST of a call
    reply_url: str | None = None  # where AT should post the next answer (with the token)


@dataclass(frozen=True)
class Answer:
    xml: str
    outbox_ids: tuple[int, ...] = ()


class VoiceLine:
    """Answers AT's voice callbacks for every organization's feedback number."""

    def __init__(self, sessions: sessionmaker[Session], desk: Desk, config: VoiceConfig,
                 send_notices: SendNotices | None = None) -> None:
        self.sessions = sessions
        self.desk = desk
        self.config = config
        self.send_notices = send_notices

    def answer_safely(self, callback: Callback) -> str:
        """`answer`, but a failure ends the call politely instead of a 5xx AT cannot use."""
        try:
            return self.answer(callback)
        except Exception:
            log.exception("voice callback failed (session %s)", callback.form.session_id[:40])
            return render([Say(TEXTS["failed"])] if callback.form.active else [])

    def answer(self, callback: Callback) -> str:
        """The XML for one callback; the notices it queued are handed over after commit."""
        with self.sessions.begin() as db:
            answer = self._answer(db, callback)
        if answer.outbox_ids and self.send_notices is not None:
            try:
                self.send_notices(list(answer.outbox_ids))
            except Exception:  # the rows are stored: the outbox relay sends them later
                log.exception("voice: notices stored but not handed over")
        return answer.xml

    def _answer(self, db: Session, callback: Callback) -> Answer:
        form = callback.form
        if not form.session_id:
            return Answer(render([Say(NOT_IN_SERVICE)] if form.active else []))
        # Locked: a retry arriving while its original is still answered waits, then replays.
        call = db.scalar(select(VoiceCall).where(VoiceCall.session_id == form.session_id)
                         .with_for_update())
        if call is None:
            organization = organization_for(db, Channel.VOICE, _address(form.destination_number))
            if organization is None:
                log.warning("voice call to %s: not one of our numbers",
                            mask(form.destination_number))
                return Answer(render([Say(NOT_IN_SERVICE)] if form.active else []))
            call = _new_call(db, organization, form)
        organization = db.get(Organization, call.organization_id)
        turn = _Turn(self, db, organization, call, callback)
        if not form.active:
            return turn.ended()
        return turn.step()


class _Turn:
    """One callback applied to one call, inside the callback's transaction."""

    def __init__(self, line: VoiceLine, db: Session, organization: Organization,
                 call: VoiceCall, callback: Callback) -> None:
        self.line = line
        self.config = line.config
        self.db = db
        self.organization = organization
        self.call = call
        self.callback = callback
        self.form = callback.form
        self.outbox_ids: list[int] = []

    # -- the two kinds of callback ----------------------------------------------------------

    def ended(self) -> Answer:
        """The final notification: duration and cost kept (the same values again if repeated)."""
        call, form = self.call, self.form
        call.duration_seconds = _first(form.duration_seconds, call.duration_seconds)
        call.currency_code = form.currency_code or call.currency_code
        call.amount = form.amount or call.amount
        call.hangup_cause = form.hangup_cause or call.hangup_cause
        call.dial_destination = form.dial_destination or call.dial_destination
        call.dial_duration_seconds = _first(form.dial_duration_seconds,
                                            call.dial_duration_seconds)
        call.ended_at = call.ended_at or utcnow()
        if form.recording_url and call.state == Step.RECORDING and call.ticket_id is None:
            self._open_ticket(form.recording_url)  # hung up right after recording
        return Answer(render([]), tuple(self.outbox_ids))

    def step(self) -> Answer:
        call = self.call
        if call.state == Step.START:
            return self._reply(self._start())
        if not self._answers_current_turn() or call.state in (Step.QUEUED, Step.DONE):
            # AT repeating a callback (or a late copy of an older one): the same answer again.
            return Answer(self._stored_reply())
        handler = {Step.LANGUAGE: self._language, Step.MENU: self._menu,
                   Step.RECORDING: self._recording, Step.REFERENCE: self._reference,
                   Step.OFFER: self._offer}[Step(call.state)]
        return self._reply(handler())

    def _answers_current_turn(self) -> bool:
        given = self.callback.turn
        if given is not None:
            return given == (self.call.detail or {}).get("turn")
        # No turn: the first callback again, unless we gave AT no URL to carry one (then any
        # callback with input answers the current question).
        has_input = bool(self.form.dtmf_digits or self.form.recording_url
                         or self.call.state == Step.RECORDING)
        return self.callback.reply_url is None and has_input

    # -- steps ------------------------------------------------------------------------------

    def _start(self) -> list[Action]:
        offered = self._languages()
        if len(offered) == 1:
            self.call.language = offered[0]
            speaker = self._speaker()
            return [speaker.prompt("welcome"), *self._go(Step.MENU)]
        return self._go(Step.LANGUAGE)

    def _language(self) -> list[Action]:
        offered = self._languages()
        key = whole_or_none(self.form.dtmf_digits, 2)
        if key is not None and 1 <= key <= len(offered):
            self.call.language = offered[key - 1]
            return self._go(Step.MENU)
        return self._wrong_key(Step.LANGUAGE)

    def _menu(self) -> list[Action]:
        choice = self.form.dtmf_digits[:1]
        if choice == "1":
            return self._go(Step.RECORDING)
        if choice == "2":
            return self._go(Step.REFERENCE)
        if choice == "3":
            return self._agents()
        return self._wrong_key(Step.MENU)

    def _offer(self) -> list[Action]:
        if self.form.dtmf_digits[:1] == "1":
            return self._go(Step.RECORDING)
        return self._done([self._speaker().prompt("goodbye")])

    def _recording(self) -> list[Action]:
        speaker = self._speaker()
        url = self.form.recording_url
        if not url:
            self.call.misses += 1
            if self.call.misses >= MAX_MISSES:
                return self._done([speaker.prompt("no_recording"), speaker.prompt("goodbye")])
            return [speaker.prompt("no_recording"), *self._ask(Step.RECORDING)]
        reference = self._open_ticket(url)
        said = [speaker.prompt("received"), *speaker.number(reference)]
        if self.call.caller_msisdn:
            said.append(speaker.prompt("sms_sent"))
        return self._done([*said, speaker.prompt("goodbye")])

    def _reference(self) -> list[Action]:
        speaker = self._speaker()
        typed = self.form.dtmf_digits
        if not typed.strip("#* "):
            found, words = None, "no_reference"
        else:
            # A caller whose number we could not read sees no ticket as theirs ("" is nobody's).
            lookup = look_up(self.db, self.organization.id, typed, self.call.caller_msisdn or "")
            found = lookup.found
            words = {Found.MISTYPED: "mistyped", Found.UNKNOWN: "unknown",
                     Found.NOT_YOURS: "not_yours"}.get(found)
            if found == Found.YOURS:
                ticket = lookup.ticket
                dates = (f"It was last updated on {self._day(ticket.updated_at)}, "
                         f"and is due by {self._day(ticket.due_at)}.")
                return self._done([*speaker.status(ticket.reference, ticket.status, dates),
                                   speaker.prompt("goodbye")])
        self.call.misses += 1
        if self.call.misses >= MAX_MISSES:
            return self._done([speaker.prompt(words), speaker.prompt("goodbye")])
        return [speaker.prompt(words), speaker.prompt("try_again"), *self._ask(Step.REFERENCE)]

    def _agents(self) -> list[Action]:
        speaker = self._speaker()
        if self.config.queue_name:
            self._set(Step.QUEUED)
            return [speaker.prompt("queue"),
                    Enqueue(name=self.config.queue_name, hold_music=self.config.hold_music_url)]
        numbers = self._agent_numbers()
        if not numbers:
            return [speaker.prompt("no_agent"), *self._go(Step.OFFER)]
        # All ring at once, the first to pick up takes the call. A picked Dial ends our part;
        # when nobody picks up AT goes on to the offer to leave a complaint.
        return [speaker.prompt("connecting"), Dial(tuple(numbers), sequential=False),
                speaker.prompt("no_answer"), *self._go(Step.OFFER)]

    # -- building replies -------------------------------------------------------------------

    def _go(self, step: Step) -> list[Action]:
        """Move to `step` and ask its question."""
        self.call.misses = 0
        return self._ask(step)

    def _ask(self, step: Step) -> list[Action]:
        """The question of `step`, then (no input) the question once more, then goodbye."""
        self._set(step)
        turn = self._next_turn()
        speaker = self._speaker()
        if step == Step.RECORDING:
            record = Record(speaker.prompt("record"), max_length=self.config.record_seconds,
                            finish_on_key="#", trim_silence=True, play_beep=True,
                            callback_url=self._url(turn))
            # AT posts an empty recordingUrl when nothing was recorded; should it move on
            # instead, the caller still hears an ending.
            return [record, speaker.prompt("no_recording"), speaker.prompt("goodbye")]
        ask = self._get_digits(step, speaker, turn)
        if self.call.misses:  # the repeat after a wrong key: no second repeat for silence
            return [ask, speaker.prompt("goodbye")]
        silence = "no_reference" if step == Step.REFERENCE else "no_input"
        return [ask, speaker.prompt(silence), ask, speaker.prompt("goodbye")]

    def _get_digits(self, step: Step, speaker: Speaker, turn: int) -> GetDigits:
        if step == Step.REFERENCE:
            return GetDigits(speaker.prompt("ask_reference"), timeout=REFERENCE_TIMEOUT,
                             finish_on_key="#", callback_url=self._url(turn))
        return GetDigits(self._question(step, speaker), num_digits=1, timeout=DIGITS_TIMEOUT,
                         callback_url=self._url(turn))

    def _question(self, step: Step, speaker: Speaker) -> Prompt:
        if step == Step.LANGUAGE:
            if speaker.recorded:
                return speaker.prompt("choose_language")
            return Say(TEXTS["choose_language"].format(
                organization=self.organization.name,
                choices=language_choices(self._languages())))
        if step == Step.OFFER:
            return speaker.prompt("offer_complaint")
        return speaker.prompt("main_menu")

    def _wrong_key(self, step: Step) -> list[Action]:
        self.call.misses += 1
        speaker = self._speaker()
        if self.call.misses >= MAX_MISSES:
            return self._done([speaker.prompt("wrong_key"), speaker.prompt("goodbye")])
        return [speaker.prompt("wrong_key"), *self._ask(step)]

    def _done(self, actions: list[Action]) -> list[Action]:
        self._set(Step.DONE)
        return actions

    def _reply(self, actions: Sequence[Action]) -> Answer:
        xml = render(actions)
        stored = xml
        if self.callback.reply_url:  # the URL carries the callback token: not in the database
            stored = xml.replace(escape(self.callback.reply_url), REPLY_URL)
        self.call.detail = {**(self.call.detail or {}), "reply": stored}
        return Answer(xml, tuple(self.outbox_ids))

    def _stored_reply(self) -> str:
        stored = (self.call.detail or {}).get("reply") or render([])
        return stored.replace(REPLY_URL, escape(self.callback.reply_url or ""))

    def _set(self, step: Step) -> None:
        self.call.state = step

    def _next_turn(self) -> int:
        turn = int((self.call.detail or {}).get("turn") or 0) + 1
        self.call.detail = {**(self.call.detail or {}), "turn": turn}
        return turn

    def _url(self, turn: int) -> str | None:
        base = self.callback.reply_url
        if base is None:
            return None
        return f"{base}{'&' if '?' in base else '?'}{urlencode({'turn': turn})}"

    # -- the rest of the product ------------------------------------------------------------

    def _speaker(self) -> Speaker:
        language = self.call.language or self._languages()[0]
        return Speaker(self.config, language, self.organization.code, self.organization.name)

    def _languages(self) -> list[str]:
        """The organization's languages the line can speak: recorded ones, and English."""
        offered = [language for language in self.organization.languages
                   if language == ENGLISH or self.config.recorded(language)]
        return offered if ENGLISH in offered else [*offered, ENGLISH]

    def _agent_numbers(self) -> list[str]:
        """Phones of the organization's active agents (then supervisors), else the setting."""
        numbers = self.db.scalars(
            select(User.msisdn)
            .where(User.organization_id == self.organization.id, User.active.is_(True),
                   User.role.in_([Role.AGENT, Role.SUPERVISOR]), User.msisdn.is_not(None))
            .order_by(User.role, User.id))
        found = list(dict.fromkeys(n for n in numbers if n))
        return (found or list(self.config.agent_numbers))[:MAX_AGENTS]

    def _open_ticket(self, recording_url: str) -> str:
        new = NewTicket(
            organization_id=self.organization.id, channel=TicketChannel.VOICE,
            # The caller only talks: an agent listening to the recording sets the category.
            category=TicketCategory.OTHER, description=RECORDING_DESCRIPTION,
            msisdn=self.call.caller_msisdn, recording_url=_web_address(recording_url),
            language=self.call.language, source_key=f"voice:{self.call.session_id}")
        opened = open_ticket(self.db, self.line.desk, new, notify=True)
        self.call.ticket_id = opened.ticket.id
        self.outbox_ids.extend(opened.outbox_ids)
        return opened.ticket.reference

    def _day(self, moment) -> str:
        return notices.day_text(moment, self.organization, ENGLISH)


def _new_call(db: Session, organization: Organization, form: VoiceForm) -> VoiceCall:
    call = VoiceCall(organization_id=organization.id, session_id=form.session_id,
                     caller_msisdn=_caller(form.caller_number, organization.country),
                     destination=form.destination_number[:40] or None,
                     direction=form.direction or None, state=Step.START, misses=0, detail={})
    try:
        with db.begin_nested():
            db.add(call)
            db.flush()
    except IntegrityError:  # the same first callback, answered meanwhile: use its row
        earlier = db.scalar(select(VoiceCall).where(VoiceCall.session_id == form.session_id))
        if earlier is None:
            raise
        return earlier
    return call


def _caller(raw: str, region: str) -> str | None:
    """The caller's number in E.164, or None when withheld or unreadable."""
    try:
        return normalise_msisdn(raw, region)
    except InvalidPhoneNumber:
        return None


def _address(number: str) -> str:
    """Our number as stored: a '+' that arrived unencoded became a space, then got stripped."""
    number = number.replace(" ", "")
    return f"+{number}" if number[:1].isdigit() else number


def _first(value: int | None, default: int | None) -> int | None:
    return value if value is not None else default


def _web_address(url: str) -> str | None:
    """AT's recording URL, if it is one: the console links to it, so no other scheme
    (javascript:, data:) is ever stored."""
    url = url.strip()[:500]
    return url if url.lower().startswith(("https://", "http://")) else None
