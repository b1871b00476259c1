"""SMS keywords of project monitoring.

PMC members (recognised by phone, per project: one phone may sit on several PMCs):
- `PMC <code> <progress %> <status> [comment]` (the same word in Kiswahili), read by
  `app.pmc.report_text`: statuses ONTRACK, ATRISK, OFFTRACK, STALLED, COMPLETE or SAWA,
  HATARINI, NYUMA, IMEKWAMA, IMEKAMILIKA. Recorded once per AT message id, with a reference
  in the reply. The code is looked up first (an unknown one is named back), then the seat
  (a number not on that PMC, or stood down, is refused), then the rest is judged: each
  problem gets its own correction and an example with the member's project code.
- `VERIFY <code> <work done>` (HAKIKI), chair only: a "works verified" sign-off waiting for a
  second member; the PMC's other members get an SMS asking them to reply `CONFIRM <code>`.
- `CONFIRM <code>` (THIBITISHA): another member confirms the oldest request on that project
  not asked by themselves; the member and the chair are both told.
Residents:
- `INFO <code>` (MRADI, "project": HABARI is the everyday greeting, "habari yako"): name,
  status, latest PMC report and contract value in one SMS, with how to comment.
- `REPORT <code> <text>` (RIPOTI): a complaint ticket on the project (channel REPORT, category
  PROJECT), once per AT id, with its reference in the reply (app.tickets.sms_tickets). The
  text is a resident's words: kept with the message (keeps_text), never logged.

HELP: the resident help already fills one SMS (159 of 160 characters in English), so INFO and
REPORT are not in it (INFO's reply says how to REPORT). A number with an active PMC seat also
gets the PMC and CONFIRM lines (and VERIFY for a chair), the statuses in their language: two
SMS parts for them, one for everybody else.
"""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.db.models import (
    Channel,
    PmcMember,
    PmcRole,
    Project,
    ProjectStatus,
    ReportStatus,
)
from app.engine.flow import N_
from app.pb.ballot_text import fill, priced, short_title
from app.pmc import members, milestones, projects, reports
from app.pmc.report_text import Problem, ReportTextError, parse_report
from app.services.sms_keywords import (
    Gettext,
    Keyword,
    KeywordRegistry,
    SmsRequest,
    shown_typed,
    word_in,
)
from app.tickets import sms_tickets
from app.tickets.desk import Desk

PMC_WORDS = {"en": "PMC", "sw": "PMC"}
VERIFY_WORDS = {"en": "VERIFY", "sw": "HAKIKI"}
CONFIRM_WORDS = {"en": "CONFIRM", "sw": "THIBITISHA"}
INFO_WORDS = {"en": "INFO", "sw": "MRADI"}
REPORT_WORDS = {"en": "REPORT", "sw": "RIPOTI"}

# HELP lines, for PMC members only ({word} is the keyword in the reader's language).
PMC_HELP = N_("{word} <code> <%> ONTRACK/ATRISK/OFFTRACK/STALLED/COMPLETE")
VERIFY_HELP = N_("{word} <code> <work done> - chair")
CONFIRM_HELP = N_("{word} <code> - confirm works")

# PMC reports --------------------------------------------------------------------------------
REPORT_RECEIVED = N_("Report {reference} received for {code}: {progress}%, {status}. Thank you.")
EXAMPLE = N_("{word} {code} 60 ONTRACK culvert done")
PMC_USAGE = N_("Send {word}, the project code, progress 0-100 and status. Example: {example}")
NO_PROGRESS = N_("Please add the progress, a whole number 0-100. Example: {example}")
BAD_PROGRESS = N_("Progress must be a whole number 0-100. Example: {example}")
NO_STATUS = N_("Please add the status: ONTRACK, ATRISK, OFFTRACK, STALLED or COMPLETE. "
               "Example: {example}")
BAD_STATUS = N_("Unknown status {typed}. Use ONTRACK, ATRISK, OFFTRACK, STALLED or COMPLETE. "
                "Example: {example}")
NOT_ON_ANY_PMC = N_("Sorry, this number is not on any project's PMC.")
NOT_MEMBER = N_("Sorry, this number is not on the PMC of {code}.")
NOT_RECORDED = N_("Sorry, your report was not recorded. Please try again.")
UNKNOWN_PROJECT = N_("There is no project with code {code}. Please check the code and send "
                     "again.")
UNKNOWN_PROJECT_YOURS = N_("There is no project with code {code}. Your PMC projects: {codes}.")

# "Works verified" -------------------------------------------------------------------------
VERIFY_USAGE = N_("Send {word}, the project code and the work done. Example: {word} {code} "
                  "foundation complete")
VERIFY_NOT_CHAIR = N_("Sorry, only the PMC chair of {code} can ask for works to be verified.")
VERIFY_ASKED = N_("Noted: {milestone} ({code}). It counts as verified once a second PMC "
                  "member replies {confirm} {code}. We have asked them.")
VERIFY_NOBODY = N_("Noted: {milestone} ({code}). No other member of the PMC can confirm it "
                   "now: please contact the county.")
PLEASE_CONFIRM = N_("{chair}, PMC chair of {code}, says works are verified: {milestone}. If "
                    "you agree, reply {confirm} {code}")
CONFIRM_USAGE = N_("Send {word} and the project code. Example: {word} {code}")
CONFIRM_NOTHING = N_("Nothing on {code} is waiting for confirmation.")
CONFIRM_OWN = N_("You asked for this verification: another PMC member must confirm it.")
CONFIRMED = N_("Thank you. Works verified on {code}: {milestone}.")
CONFIRMED_MORE = N_("Thank you. Works verified on {code}: {milestone}. {left} more waiting: "
                    "send {confirm} {code} again.")
CONFIRMED_TO_CHAIR = N_("{member} confirmed: works verified on {code}: {milestone}.")

# Residents --------------------------------------------------------------------------------
INFO_USAGE = N_("To learn about a project, send {word} and its code. Example: {word} {code}")
INFO_REPORTED = N_("{code} {name}: {status}. PMC report {date}: {progress}%, {report_status}. "
                   "Contract {value}.")
INFO_UNREPORTED = N_("{code} {name}: {status}. No PMC report yet. Contract {value}.")
INFO_COMMENT = N_("Comments: {word} {code} <message>")
NO_CONTRACT = N_("not known")
REPORT_USAGE = N_("Send {word}, the project code and your message. Example: {word} {code} no "
                  "workers this week")
REPORT_THANKS = N_("Thank you. Your message about {code} {name} is ref {ref}. To follow it, "
                   "send {word} {ref}.")

PROJECT_STATUS_NAMES = {
    ProjectStatus.PLANNED: N_("planned"),
    ProjectStatus.ONGOING: N_("ongoing"),
    ProjectStatus.STALLED: N_("stalled"),
    ProjectStatus.COMPLETED: N_("completed"),
    ProjectStatus.CANCELLED: N_("cancelled"),
}
REPORT_STATUS_NAMES = {
    ReportStatus.ONTRACK: N_("on track"),
    ReportStatus.ATRISK: N_("at risk"),
    ReportStatus.OFFTRACK: N_("off track"),
    ReportStatus.STALLED: N_("stalled"),
    ReportStatus.COMPLETE: N_("complete"),
}
CORRECTIONS = {Problem.NO_PROGRESS: NO_PROGRESS, Problem.BAD_PROGRESS: BAD_PROGRESS,
               Problem.NO_STATUS: NO_STATUS, Problem.BAD_STATUS: BAD_STATUS}

SMS_LENGTH = 160
SHOWN_CODE, SHOWN_WORD, SHOWN_NAME, SHOWN_MILESTONE = 20, 15, 24, 60
NO_CODE_YET = "<code>"  # in an example, when the organization has no project to name


def register(registry: KeywordRegistry, desk: Desk) -> None:
    """PMC, VERIFY and CONFIRM for members; INFO and REPORT for everyone (REPORT opens a
    ticket due by the `desk`'s SLA)."""
    registry.register(Keyword(PMC_WORDS, report_progress, PMC_HELP, audience=sits_on_a_pmc))
    registry.register(Keyword(VERIFY_WORDS, ask_verification, VERIFY_HELP, audience=chairs_a_pmc))
    registry.register(Keyword(CONFIRM_WORDS, confirm_works, CONFIRM_HELP, audience=sits_on_a_pmc))
    registry.register(Keyword(INFO_WORDS, project_info))
    registry.register(Keyword(REPORT_WORDS, partial(resident_report, desk=desk)))


def sits_on_a_pmc(request: SmsRequest) -> bool:
    return bool(_seats(request))


def chairs_a_pmc(request: SmsRequest) -> bool:
    return any(seat.role == PmcRole.CHAIR for seat in _seats(request))


# -- PMC ------------------------------------------------------------------------------------


def report_progress(request: SmsRequest) -> str:
    """PMC <code> <progress> <status> [comment]: recorded once, with a reference."""
    _ = request.gettext_for(request.language)
    parsed = parse_report(_rest(request))
    if parsed.project_code is None:
        seats = _seats(request)
        if not seats:
            return _(NOT_ON_ANY_PMC)
        return fill(_(PMC_USAGE), word=PMC_WORDS["en"],
                    example=_example(seats[0].project.code, _))
    seat = _seat_for(request, parsed.project_code, _)
    if isinstance(seat, str):
        return seat
    project = seat.project
    if isinstance(parsed, ReportTextError):
        return fill(_(CORRECTIONS[parsed.problem]),
                    typed=shown_typed(parsed.word or "", SHOWN_WORD),
                    example=_example(project.code, _))
    try:
        recorded = reports.record_report(
            request.db, seat, channel=Channel.SMS, progress=parsed.progress,
            status=parsed.status, comment=parsed.comment or None,
            source_message_id=request.message_id or None)
    except reports.ReportRefused:
        return _(NOT_RECORDED)
    report = recorded.report
    return fill(_(REPORT_RECEIVED), reference=report.reference, code=project.code,
                progress=report.progress, status=_(REPORT_STATUS_NAMES[report.status]))


def _example(code: str, _: Gettext) -> str:
    return fill(_(EXAMPLE), word=PMC_WORDS["en"], code=code)


# -- VERIFY / CONFIRM -----------------------------------------------------------------------


def ask_verification(request: SmsRequest) -> str:
    """VERIFY <code> <work done>, from the chair: asks the PMC's other members to confirm."""
    _ = request.gettext_for(request.language)
    word = word_in(VERIFY_WORDS, request.language)
    typed, milestone = _code_and_text(request)
    if not typed:
        return fill(_(VERIFY_USAGE), word=word, code=_own_code(request, chair=True))
    chair = _seat_for(request, typed, _)
    if isinstance(chair, str):
        return chair
    project = chair.project
    if chair.role != PmcRole.CHAIR:
        return fill(_(VERIFY_NOT_CHAIR), code=project.code)
    try:
        verification = milestones.request_verification(request.db, chair, milestone)
    except milestones.VerificationRefused:
        return fill(_(VERIFY_USAGE), word=word, code=project.code)
    asked = _ask_others(request, project, chair, verification.milestone)
    values = {"milestone": short_title(verification.milestone, SHOWN_MILESTONE),
              "code": project.code, "confirm": word_in(CONFIRM_WORDS, request.language)}
    return fill(_(VERIFY_ASKED if asked else VERIFY_NOBODY), **values)


def _ask_others(request: SmsRequest, project: Project, chair: PmcMember, milestone: str) -> int:
    """SMS the PMC's other active members (in each one's language); how many were asked."""
    asked = 0
    for member in members.members_of(request.db, project.id):
        if member.id == chair.id or member.contact.opted_out:
            continue
        language = _language_of(request, member)
        _ = request.gettext_for(language)
        request.send_also(member.msisdn, fill(
            _(PLEASE_CONFIRM), chair=short_title(chair.name, SHOWN_NAME), code=project.code,
            milestone=short_title(milestone, SHOWN_MILESTONE),
            confirm=word_in(CONFIRM_WORDS, language)))
        asked += 1
    return asked


def confirm_works(request: SmsRequest) -> str:
    """CONFIRM <code>: a second member confirms the oldest request they did not make."""
    _ = request.gettext_for(request.language)
    word = word_in(CONFIRM_WORDS, request.language)
    typed = _code_and_text(request)[0]
    if not typed:
        return fill(_(CONFIRM_USAGE), word=word, code=_own_code(request))
    seat = _seat_for(request, typed, _)
    if isinstance(seat, str):
        return seat
    project = seat.project
    pending = milestones.pending_verifications(request.db, project.id)
    if not pending:
        return fill(_(CONFIRM_NOTHING), code=project.code)
    others = [v for v in pending if v.requested_by_id != seat.id]
    if not others:
        return _(CONFIRM_OWN)
    try:
        verification = milestones.confirm_verification(request.db, others[0], seat)
    except milestones.VerificationRefused:  # confirmed by someone else a moment ago
        return fill(_(CONFIRM_NOTHING), code=project.code)
    milestone = short_title(verification.milestone, SHOWN_MILESTONE)
    chair = verification.requested_by
    if not chair.contact.opted_out:
        _chair = request.gettext_for(_language_of(request, chair))
        request.send_also(chair.msisdn, fill(
            _chair(CONFIRMED_TO_CHAIR), member=short_title(seat.name, SHOWN_NAME),
            code=project.code, milestone=milestone))
    left = len(others) - 1  # what this member can still confirm
    return fill(_(CONFIRMED_MORE if left else CONFIRMED), code=project.code,
                milestone=milestone, left=left, confirm=word)


# -- INFO / REPORT --------------------------------------------------------------------------


def project_info(request: SmsRequest) -> str:
    """INFO <code>: the project in one SMS (its name is shortened to fit)."""
    _ = request.gettext_for(request.language)
    word = word_in(INFO_WORDS, request.language)
    typed = _code_and_text(request)[0]
    if not typed:
        return fill(_(INFO_USAGE), word=word, code=_any_code(request))
    project = projects.find_project(request.db, request.organization.id, typed)
    if project is None:
        return fill(_(UNKNOWN_PROJECT), code=shown_typed(typed, SHOWN_CODE))
    latest = reports.latest_report(request.db, project.id)
    value = (priced(project.contract_value, request.organization.currency)
             if project.contract_value is not None else _(NO_CONTRACT))
    values = {"code": project.code, "status": _(PROJECT_STATUS_NAMES[project.status]),
              "value": value}
    if latest is not None:
        day = latest.received_at.astimezone(ZoneInfo(request.organization.timezone)).date()
        values |= {"date": day.isoformat(), "progress": latest.progress,
                   "report_status": _(REPORT_STATUS_NAMES[latest.status])}
    template = _(INFO_REPORTED if latest is not None else INFO_UNREPORTED)
    text = _fitted(template, project.name, values)
    comment = fill(_(INFO_COMMENT), word=word_in(REPORT_WORDS, request.language), code=project.code)
    return f"{text}\n{comment}" if len(text) + 1 + len(comment) <= SMS_LENGTH else text


def _fitted(template: str, name: str, values: dict[str, object]) -> str:
    """The template with the project's name, shortened (not below 12) to fit one SMS."""
    room = SMS_LENGTH - len(fill(template, name="", **values))
    return fill(template, name=short_title(name, max(room, 12)), **values)


def resident_report(request: SmsRequest, desk: Desk) -> str:
    """REPORT <code> <text>: a ticket on the project, once per message."""
    _ = request.gettext_for(request.language)
    word = word_in(REPORT_WORDS, request.language)
    typed, text = _code_and_text(request)
    if not typed:
        return fill(_(REPORT_USAGE), word=word, code=_any_code(request))
    project = projects.find_project(request.db, request.organization.id, typed)
    if project is None:
        return fill(_(UNKNOWN_PROJECT), code=shown_typed(typed, SHOWN_CODE))
    if not text:
        return fill(_(REPORT_USAGE), word=word, code=project.code)
    ticket = sms_tickets.report_on_project(request, desk, project, text)
    return fill(_(REPORT_THANKS), code=project.code, name=short_title(project.name, SHOWN_NAME),
                ref=ticket.reference, word=word_in(sms_tickets.STATUS_WORDS, request.language))


# -- shared ---------------------------------------------------------------------------------


def _seats(request: SmsRequest) -> list[PmcMember]:
    return members.memberships(request.db, request.organization.id, request.contact.msisdn)


def _rest(request: SmsRequest) -> str:
    """What follows the keyword, without the separator some type after it ("PMC: ...")."""
    return request.text.rest.lstrip(" :-,.#")


def _code_and_text(request: SmsRequest) -> tuple[str, str]:
    """('MK-101', 'the rest, spaces squeezed'); ('', '') for nothing after the keyword."""
    words = _rest(request).split(maxsplit=1)
    if not words:
        return "", ""
    return words[0], " ".join(words[1].split()) if len(words) > 1 else ""


def _seat_for(request: SmsRequest, typed: str, _: Gettext) -> PmcMember | str:
    """The sender's active seat on the PMC of the project typed; else the refusal to send."""
    project = projects.find_project(request.db, request.organization.id, typed)
    if project is None:
        codes = [seat.project.code for seat in _seats(request)]
        if codes:
            return fill(_(UNKNOWN_PROJECT_YOURS), code=shown_typed(typed, SHOWN_CODE),
                        codes=", ".join(codes[:6]))
        return fill(_(UNKNOWN_PROJECT), code=shown_typed(typed, SHOWN_CODE))
    seat = members.seat_on(request.db, project, request.contact.msisdn)
    return seat if seat is not None else fill(_(NOT_MEMBER), code=project.code)


def _own_code(request: SmsRequest, chair: bool = False) -> str:
    """A code for an example: the sender's (chaired) project, else any of the organization."""
    for seat in _seats(request):
        if not chair or seat.role == PmcRole.CHAIR:
            return seat.project.code
    return _any_code(request)


def _any_code(request: SmsRequest) -> str:
    code = request.db.scalar(select(Project.code)
                             .where(Project.organization_id == request.organization.id)
                             .order_by(Project.code).limit(1))
    return code or NO_CODE_YET


def _language_of(request: SmsRequest, member: PmcMember) -> str:
    return member.contact.language or request.organization.default_language
