"""What flows/pmc_report.yaml calls: PMC members reporting progress and confirming works by USSD.

The flow, screen by screen (answers it keeps are named pmc_*):
- The main menu shows "PMC report" only to a number that sits on a PMC of the organization
  (`is_pmc_member`), read once per session (app.services.flow_host session_vars), so the
  menu's numbers cannot shift under the caller. It leads to a small menu: send a progress
  report, or confirm works verified.
- Report: `pmc_seats` finds the member's projects. With one project the list is skipped; the
  project's name heads the next screen either way, so the member always sees what they report
  on. Then the status (On track ... Complete), the progress in % (`pmc_progress`: 0-100, "45%"
  accepted; "0" is 0%, so this screen has no "0. Back"), the main issue, and a summary with
  1. Confirm / 2. Cancel. Cancel stores nothing.
- Confirm: `pmc_reference` takes the report's reference right before the write, so the final
  screen can show it, and re-checks the seat (a member stood down mid-session is told so and
  nothing is stored). `pmc_record` stores the report in the hop's transaction through
  app.pmc.reports.record_report, channel USSD, and queues an SMS with the reference in the
  outbox; the gateway hands it to the sender after commit.
- Confirm works verified: pending "works verified" requests on the member's projects that
  another member (the chair) asked for; choosing one and confirming calls
  app.pmc.milestones.confirm_verification (`pmc_verify`).

Stored once: the report's source id is the AT session (`ussd:<sessionId>`), and a session
records at most one report (its final screen is an END). A retried final hop is answered from
the session store; a confirm replayed after its reply was lost finds the report of its session
already stored, shows the same reference and stores nothing, sends nothing. A confirmation
replayed the same way finds the works confirmed by this very member and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.db.models import (
    Channel,
    MainIssue,
    MilestoneVerification,
    PmcMember,
    Project,
    ReportStatus,
    SendLane,
)
from app.digits import whole_or_none
from app.engine.flow import N_, Choice, Invalid, Lookup, Query, Update, Valid, Validator
from app.pb.ballot_text import fill, short_title
from app.pb.flow_support import EffectHandler, PbFlows, _int, _org
from app.pmc import members, milestones, reports
from app.services import outbox

if TYPE_CHECKING:
    from app.engine import Effect
    from app.services.flow_host import EffectContext

# Session answers the flow keeps.
PROJECT, NAME, STATUS, PROGRESS = "pmc_project", "pmc_name", "pmc_status", "pmc_progress"
ISSUE, REFERENCE, WORK = "pmc_issue", "pmc_ref", "pmc_work"
VERIFICATION = "pmc_verification"

NAME_LENGTH = 30  # a project's name heading a screen
SUMMARY_LENGTH = 90
REFERENCE_LENGTH = 8  # PR482913
WORK_LENGTH = 50  # "project: milestone" on the confirmation screens
LABEL_LENGTH = 30  # a project or a milestone in a list
NAME_IN_SMS = 40
REFUSED = "refused"  # the caller no longer sits on that PMC
SOURCE_PREFIX = "ussd:"

BAD_PROGRESS = N_("Please type a number from 0 to 100, e.g. 45.")
SUMMARY = N_("{project}\nStatus: {status}\nProgress: {progress}%\nIssue: {issue}")
REPORT_SMS = N_("Your PMC report on {project} is recorded: {status}, {progress}%. "
                "Reference: {reference}. Thank you.")

# The labels of flows/pmc_report.yaml, for the summary and the SMS (same msgids).
STATUS_LABELS = {
    ReportStatus.ONTRACK: N_("On track"),
    ReportStatus.ATRISK: N_("At risk"),
    ReportStatus.OFFTRACK: N_("Off track"),
    ReportStatus.STALLED: N_("Stalled"),
    ReportStatus.COMPLETE: N_("Complete"),
}
ISSUE_LABELS = {
    MainIssue.NONE: N_("None"),
    MainIssue.MATERIALS: N_("Materials"),
    MainIssue.LABOUR: N_("Labour"),
    MainIssue.FUNDS_DELAYED: N_("Funds delayed"),
    MainIssue.QUALITY: N_("Quality"),
    MainIssue.SAFETY: N_("Safety"),
    MainIssue.OTHER: N_("Other issue"),
}
_REFERENCE = re.compile(rf"{reports.REFERENCE_PREFIX}\d{{{reports.REFERENCE_DIGITS}}}")


def pmc_progress(raw: str) -> Valid | Invalid:
    """A whole percent from 0 to 100; "45%" and "45 %" read as 45."""
    value = raw.strip().rstrip("%").strip()
    percent = whole_or_none(value, 3)
    if percent is not None and percent <= 100:
        return Valid(str(percent))
    return Invalid(BAD_PROGRESS)


def source_id(session_id: str) -> str:
    """The report's idempotency key: one report per AT session."""
    return f"{SOURCE_PREFIX}{session_id}"[:100]


def is_member(db: Session, organization_id: int, msisdn: str) -> bool:
    """Whether this number sits (actively) on a PMC of the organization."""
    return bool(members.memberships(db, organization_id, msisdn))


@dataclass(frozen=True)
class PmcReportFlows:
    """The PMC flow's capabilities, on the vote flow's database and translations."""

    pb: PbFlows

    def lookups(self) -> dict[str, Lookup]:
        return {
            "is_pmc_member": Lookup(self.member),
            "pmc_seats": Lookup(self.seats),
            "pmc_projects": Lookup(self.projects),
            "pmc_project_name": Lookup(self.project_name, NAME_LENGTH),
            "pmc_summary": Lookup(self.summary, SUMMARY_LENGTH),
            "pmc_reference": Lookup(self.reference, REFERENCE_LENGTH),
            "pmc_pending": Lookup(self.pending),
            "pmc_verifications": Lookup(self.verifications),
            "pmc_work": Lookup(self.work, WORK_LENGTH),
            "pmc_verify_check": Lookup(self.verify_check),
        }

    def validators(self) -> dict[str, Validator]:
        return {"pmc_progress": pmc_progress}

    def handlers(self) -> dict[str, EffectHandler]:
        return {"pmc_record": self.record, "pmc_verify": self.confirm}

    # -- reporting -------------------------------------------------------------------------

    def member(self, q: Query) -> bool:
        return q.vars.get("pmc_member") == "yes"  # read on the session's first hop

    def seats(self, q: Query) -> object:
        """'none', 'one' (its project saved: no list to choose from) or 'many'."""
        if not self.pb.online:
            return "none"
        with self.pb.sessions() as db:
            projects = members.projects_of_phone(db, _org(q), q.msisdn)
        if len(projects) == 1:
            return Update("one", {PROJECT: str(projects[0].id)})
        return "many" if projects else "none"

    def projects(self, q: Query) -> list[Choice]:
        if not self.pb.online:
            return []
        with self.pb.sessions() as db:
            return [Choice(short_title(p.name, LABEL_LENGTH), str(p.id))
                    for p in members.projects_of_phone(db, _org(q), q.msisdn)]

    def project_name(self, q: Query) -> str:
        with self.pb.sessions() as db:
            project = _project(db, _org(q), q.answers.get(PROJECT, ""))
            return short_title(project.name, NAME_LENGTH) if project else ""

    def summary(self, q: Query) -> str:
        _ = self.pb.gettext_for(q.language)
        status = STATUS_LABELS.get(q.answers.get(STATUS, ""), "")
        issue = ISSUE_LABELS.get(q.answers.get(ISSUE, ""), "")
        return fill(_(SUMMARY), project=q.answers.get(NAME, ""), status=_(status) if status else "",
                    progress=q.answers.get(PROGRESS, ""),
                    issue=_(issue) if issue else "")[:SUMMARY_LENGTH]

    def reference(self, q: Query) -> str:
        """The reference of this session's report if it is stored already (a replayed
        confirm), else a fresh one; 'refused' when the caller no longer sits on that PMC."""
        with self.pb.sessions() as db:
            earlier = reports.report_for_message(db, source_id(q.vars.get("session_id", "")))
            if earlier is not None and earlier.organization_id == _org(q):
                return earlier.reference
            project = _project(db, _org(q), q.answers.get(PROJECT, ""))
            if project is None or members.seat_on(db, project, q.msisdn) is None:
                return REFUSED
            return reports.new_reference(db, _org(q))

    # -- confirming works verified ---------------------------------------------------------

    def pending(self, q: Query) -> str:
        """'some' when works wait for this member's confirmation, else 'none'."""
        if not self.pb.online:
            return "none"
        with self.pb.sessions() as db:
            return "some" if _waiting(db, _org(q), q.msisdn) else "none"

    def verifications(self, q: Query) -> list[Choice]:
        if not self.pb.online:
            return []
        with self.pb.sessions() as db:
            waiting = _waiting(db, _org(q), q.msisdn)
            several = len({v.project_id for v in waiting}) > 1
            return [Choice(_work_label(v, several), str(v.id)) for v in waiting]

    def work(self, q: Query) -> str:
        with self.pb.sessions() as db:
            verification = _verification(db, _org(q), q.answers.get(VERIFICATION, ""))
            if verification is None:
                return ""
            project = short_title(verification.project.name, 24)
            return f"{project}: {verification.milestone}"[:WORK_LENGTH]

    def verify_check(self, q: Query) -> str:
        """'ok' (still waiting, or confirmed by this member: a replayed confirm), 'taken'
        (another member confirmed it) or 'gone' (not the caller's to confirm any more)."""
        with self.pb.sessions() as db:
            verification = _verification(db, _org(q), q.answers.get(VERIFICATION, ""))
            seat = members.seat_on(db, verification.project, q.msisdn) if verification else None
            if seat is None or seat.id == verification.requested_by_id:
                return "gone"
            if verification.confirmed_by_id in (None, seat.id):
                return "ok"
            return "taken"

    # -- effects, applied by the host in the hop's transaction -----------------------------

    def record(self, db: Session, ctx: EffectContext, effect: Effect) -> list[int]:
        """Store the report (once per session) and queue the SMS with its reference."""
        answers = effect.answers
        project = _project(db, ctx.organization_id, answers.get(PROJECT, ""))
        seat = members.seat_on(db, project, ctx.msisdn) if project is not None else None
        status, issue = answers.get(STATUS, ""), answers.get(ISSUE, MainIssue.NONE)
        if seat is None or status not in STATUS_LABELS or issue not in ISSUE_LABELS:
            return []
        reference = answers.get(REFERENCE, "")
        try:
            recorded = reports.record_report(
                db, seat, channel=Channel.USSD, progress=_int(answers.get(PROGRESS)),
                status=status, issue=issue, source_message_id=source_id(ctx.session_id),
                reference=reference if _REFERENCE.fullmatch(reference) else None)
        except reports.ReportRefused:
            return []
        if not recorded.created:
            return []  # this very confirm was applied before, SMS and all
        report = recorded.report
        _ = self.pb.gettext_for(effect.language)
        body = fill(_(REPORT_SMS), project=short_title(project.name, NAME_IN_SMS),
                    status=_(STATUS_LABELS[report.status]), progress=report.progress,
                    reference=report.reference)
        return [outbox.queue_sms(db, ctx.organization_id, ctx.msisdn, body, SendLane.REPLY)]

    def confirm(self, db: Session, ctx: EffectContext, effect: Effect) -> None:
        verification = _verification(db, ctx.organization_id,
                                      effect.answers.get(VERIFICATION, ""))
        seat = members.seat_on(db, verification.project, ctx.msisdn) if verification else None
        if seat is None:
            return
        try:
            milestones.confirm_verification(db, verification, seat)
        except milestones.VerificationRefused:
            return  # confirmed by another member between the check and now


def _project(db: Session, organization_id: int, project_id: str) -> Project | None:
    project = db.get(Project, _int(project_id)) if _int(project_id) else None
    return project if project is not None and project.organization_id == organization_id \
        else None


def _verification(db: Session, organization_id: int,
                  verification_id: str) -> MilestoneVerification | None:
    found = db.get(MilestoneVerification, _int(verification_id)) if _int(verification_id) \
        else None
    return found if found is not None and found.project.organization_id == organization_id \
        else None


def _waiting(db: Session, organization_id: int, msisdn: str) -> list[MilestoneVerification]:
    """Requests on this number's projects that wait for a second member other than itself."""
    seats: list[PmcMember] = members.memberships(db, organization_id, msisdn)
    return [verification for seat in seats
            for verification in milestones.pending_verifications(db, seat.project_id)
            if verification.requested_by_id != seat.id]


def _work_label(verification: MilestoneVerification, with_project: bool) -> str:
    milestone = short_title(verification.milestone, LABEL_LENGTH)
    if not with_project:
        return milestone
    return f"{short_title(verification.project.name, 16)}: {milestone}"
