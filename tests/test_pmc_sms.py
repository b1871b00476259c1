"""Project monitoring by SMS: raw inbound forms from PMC members and residents, replies read
from the outbox (PMC reports, works verified, INFO and REPORT)."""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.db.models import (
    Channel,
    MilestoneVerification,
    PmcMember,
    ProgressReport,
    Project,
    ReportStatus,
    ResidentFeedback,
    Ticket,
)
from tests.factories import add_contact
from tests.pmc_support import add_makueni, import_fixtures
from tests.sms_support import PHONE, inbound, outbox, post_sms, run_jobs
from tests.test_sms_inbound import HELP_EN, HELP_SW

# tests/data/makueni_pmc.csv: MK-101 chair, secretary and member; BOTH also chairs MK-102,
# where MEMBER sits. PHONE (a resident) sits on no PMC.
CHAIR, SECRETARY, BOTH, MEMBER = ("+254712345001", "+254712345002", "+254712345003",
                                  "+254722345004")
REFERENCE = re.compile(r"PR[1-9]\d{5}")
EXAMPLE_EN = "Example: PMC MK-101 60 ONTRACK culvert done"
EXAMPLE_SW = "Mfano: PMC MK-101 60 SAWA msingi umekamilika"


@pytest.fixture(autouse=True)
def pmc(runtime, monkeypatch):
    add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)


class Phones:
    """Sends SMS as AT posts them, one new AT id each unless told, and reads what came back."""

    def __init__(self, client, runtime) -> None:
        self.client, self.runtime, self.count = client, runtime, 0

    def exchange(self, text: str, sender: str = CHAIR, at_id: str | None = None
                 ) -> list[tuple[str, str]]:
        """Every (number, text) queued by this message: the reply first, then any others."""
        self.count += 1
        seen = len(outbox(self.runtime))
        response = post_sms(self.client, text, sender=sender,
                            at_id=at_id or f"ATXid_pmc_{self.count}")
        assert response.status_code == 200
        run_jobs(self.runtime)
        sent = [(row.msisdn, row.body) for row in outbox(self.runtime)[seen:]]
        assert all(body.isascii() for _, body in sent), sent
        return sent

    def send(self, text: str, sender: str = CHAIR, at_id: str | None = None) -> str:
        """The only reply, to the sender."""
        [(to, body)] = self.exchange(text, sender, at_id)
        assert to == sender
        return body


@pytest.fixture
def phones(client, runtime) -> Phones:
    return Phones(client, runtime)


def stored_reports(runtime) -> list[tuple[str, str, int, ReportStatus, str | None, str]]:
    """(project code, member's phone, progress, status, comment, channel) in arrival order."""
    with runtime.sessions() as db:
        rows = db.scalars(select(ProgressReport).order_by(ProgressReport.id)).all()
        return [(r.project.code, r.member.msisdn, r.progress, r.status, r.comment, r.channel)
                for r in rows]


def stand_down(runtime, msisdn: str) -> None:
    with runtime.sessions.begin() as db:
        for seat in db.scalars(select(PmcMember)):
            if seat.msisdn == msisdn:
                seat.active = False


# ---- PMC reports ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "reply", "stored"),
    [
        (None, "PMC MK-101 45 ONTRACK",
         "Report {ref} received for MK-101: 45%, on track. Thank you.",
         (45, ReportStatus.ONTRACK, None)),
        (None, "pmc  mk-101   45%   ontrack  culvert   done",
         "Report {ref} received for MK-101: 45%, on track. Thank you.",
         (45, ReportStatus.ONTRACK, "culvert done")),
        ("en", "Pmc: MK-101 60 % at risk cement late",
         "Report {ref} received for MK-101: 60%, at risk. Thank you.",
         (60, ReportStatus.ATRISK, "cement late")),
        (None, "PMC mk-101 OFF TRACK 30%",
         "Report {ref} received for MK-101: 30%, off track. Thank you.",
         (30, ReportStatus.OFFTRACK, None)),
        ("sw", "PMC MK-101 50 hatarini saruji imechelewa",
         "Ripoti {ref} ya MK-101 imepokelewa: 50%, hatarini. Asante.",
         (50, ReportStatus.ATRISK, "saruji imechelewa")),
        ("sw", "pmc mk-101  10%  IMEKWAMA",
         "Ripoti {ref} ya MK-101 imepokelewa: 10%, imekwama. Asante.",
         (10, ReportStatus.STALLED, None)),
        ("sw", "PMC MK-101 100% imekamilika",
         "Ripoti {ref} ya MK-101 imepokelewa: 100%, imekamilika. Asante.",
         (100, ReportStatus.COMPLETE, None)),
        ("sw", "PMC MK-101 80 sawa",
         "Ripoti {ref} ya MK-101 imepokelewa: 80%, sawa. Asante.",
         (80, ReportStatus.ONTRACK, None)),
    ],
)
def test_a_member_reports_and_gets_a_reference(phones, runtime, language, text, reply, stored):
    if language:
        add_contact(runtime, "makueni", SECRETARY, language)
    answer = phones.send(text, SECRETARY)
    reference = REFERENCE.search(answer).group(0)
    assert answer == reply.format(ref=reference)
    assert len(answer) <= 160
    progress, status, comment = stored
    assert stored_reports(runtime) == [("MK-101", SECRETARY, progress, status, comment,
                                        Channel.SMS)]
    with runtime.sessions() as db:
        report = db.scalar(select(ProgressReport))
        assert (report.reference, report.source_message_id) == (reference, "ATXid_pmc_1")


@pytest.mark.parametrize(
    ("language", "text", "reply"),
    [
        (None, "PMC", "Send PMC, the project code, progress 0-100 and status. " + EXAMPLE_EN),
        (None, "PMC MK-101", "Please add the progress, a whole number 0-100. " + EXAMPLE_EN),
        (None, "PMC MK-101 ONTRACK",
         "Please add the progress, a whole number 0-100. " + EXAMPLE_EN),
        (None, "PMC MK-101 145 ONTRACK",
         "Progress must be a whole number 0-100. " + EXAMPLE_EN),
        (None, "PMC mk-101 half ONTRACK",
         "Progress must be a whole number 0-100. " + EXAMPLE_EN),
        (None, "PMC MK-101 45.5% ONTRACK",
         "Progress must be a whole number 0-100. " + EXAMPLE_EN),
        (None, "PMC MK-101 45",
         "Please add the status: ONTRACK, ATRISK, OFFTRACK, STALLED or COMPLETE. " + EXAMPLE_EN),
        (None, "PMC MK-101 45% fine",
         "Unknown status fine. Use ONTRACK, ATRISK, OFFTRACK, STALLED or COMPLETE. "
         + EXAMPLE_EN),
        ("sw", "PMC",
         "Tuma PMC, nambari ya mradi, maendeleo 0-100 na hali. " + EXAMPLE_SW),
        ("sw", "PMC MK-101 nusu sawa",
         "Maendeleo lazima yawe nambari kamili 0-100. " + EXAMPLE_SW),
        ("sw", "PMC MK-101 45",
         "Tafadhali ongeza hali: SAWA, HATARINI, NYUMA, IMEKWAMA au IMEKAMILIKA. "
         + EXAMPLE_SW),
        ("sw", "PMC MK-101 45 poa",
         "Hali poa haijulikani. Tumia SAWA, HATARINI, NYUMA, IMEKWAMA au IMEKAMILIKA. "
         + EXAMPLE_SW),
    ],
)
def test_each_malformed_report_says_what_is_wrong(phones, runtime, language, text, reply):
    if language:
        add_contact(runtime, "makueni", CHAIR, language)
    answer = phones.send(text)
    assert answer == reply
    assert len(answer) <= 160
    assert stored_reports(runtime) == []


def test_an_unknown_project_is_named_back(phones, runtime):
    assert phones.send("PMC MK-999 45 ONTRACK", BOTH) == (
        "There is no project with code MK-999. Your PMC projects: MK-101, MK-102.")
    assert phones.send("PMC 45 MK-101 ONTRACK", CHAIR) == (
        "There is no project with code 45. Your PMC projects: MK-101.")
    assert phones.send("PMC XYZ 45 ONTRACK", PHONE) == (
        "There is no project with code XYZ. Please check the code and send again.")
    assert stored_reports(runtime) == []


def test_a_number_not_on_the_pmc_is_refused(phones, runtime):
    assert phones.send("PMC MK-101 45 ONTRACK", PHONE) == (
        "Sorry, this number is not on the PMC of MK-101.")
    assert phones.send("PMC MK-101 45 ONTRACK", MEMBER) == (  # sits on MK-102's only
        "Sorry, this number is not on the PMC of MK-101.")
    assert phones.send("PMC MK-101 450 what", PHONE) == (  # refused before any correction
        "Sorry, this number is not on the PMC of MK-101.")
    assert phones.send("PMC", PHONE) == "Sorry, this number is not on any project's PMC."
    add_contact(runtime, "makueni", PHONE, "sw")
    assert phones.send("pmc mk-101 45 sawa", PHONE) == (
        "Samahani, nambari hii haimo kwenye PMC ya MK-101.")
    assert stored_reports(runtime) == []


def test_a_member_who_stood_down_is_refused(phones, runtime):
    stand_down(runtime, SECRETARY)
    assert phones.send("PMC MK-101 45 ONTRACK", SECRETARY) == (
        "Sorry, this number is not on the PMC of MK-101.")
    assert phones.send("PMC", SECRETARY) == "Sorry, this number is not on any project's PMC."
    assert stored_reports(runtime) == []


def test_a_duplicate_at_id_makes_one_report_and_one_reply(client, runtime):
    for _ in range(3):  # AT retries until it gets its 200
        response = post_sms(client, "PMC MK-101 45 ONTRACK", sender=CHAIR, at_id="ATXid_same")
        assert response.status_code == 200
        run_jobs(runtime)
    assert len(inbound(runtime)) == 1
    [reply] = outbox(runtime)
    assert stored_reports(runtime) == [("MK-101", CHAIR, 45, ReportStatus.ONTRACK, None,
                                        Channel.SMS)]
    with runtime.sessions() as db:
        reference = db.scalar(select(ProgressReport.reference))
    assert reply.body == f"Report {reference} received for MK-101: 45%, on track. Thank you."


def test_a_member_of_two_pmcs_reports_on_each(phones, runtime):
    first = phones.send("PMC MK-101 40 ONTRACK", BOTH)
    second = phones.send("PMC mk-102 15 STALLED no cement", BOTH)
    assert first.startswith("Report PR") and first.endswith(" for MK-101: 40%, on track. "
                                                            "Thank you.")
    assert second.endswith(" for MK-102: 15%, stalled. Thank you.")
    assert stored_reports(runtime) == [
        ("MK-101", BOTH, 40, ReportStatus.ONTRACK, None, Channel.SMS),
        ("MK-102", BOTH, 15, ReportStatus.STALLED, "no cement", Channel.SMS)]
    with runtime.sessions() as db:
        roles = [(r.project.code, r.member.role, r.member.project_id == r.project_id)
                 for r in db.scalars(select(ProgressReport).order_by(ProgressReport.id))]
    assert roles == [("MK-101", "member", True), ("MK-102", "chair", True)]


# ---- works verified -------------------------------------------------------------------------


def verifications(runtime) -> list[tuple[str, str, str | None]]:
    """(milestone, asked by, confirmed by) in the order asked."""
    with runtime.sessions() as db:
        rows = db.scalars(select(MilestoneVerification).order_by(MilestoneVerification.id))
        return [(v.milestone, v.requested_by.msisdn,
                 v.confirmed_by.msisdn if v.confirmed_by else None) for v in rows]


def test_the_chair_verifies_and_a_second_member_confirms(phones, runtime):
    add_contact(runtime, "makueni", BOTH, "sw")
    sent = phones.exchange("VERIFY MK-101 Foundation  complete", CHAIR)
    assert sent == [
        (CHAIR, "Noted: Foundation complete (MK-101). It counts as verified once a second PMC "
                "member replies CONFIRM MK-101. We have asked them."),
        (SECRETARY, "Mwikali Musyoka, PMC chair of MK-101, says works are verified: Foundation "
                    "complete. If you agree, reply CONFIRM MK-101"),
        (BOTH, "Mwikali Musyoka, mwenyekiti wa PMC ya MK-101, anasema kazi imehakikiwa: "
               "Foundation complete. Ukikubali, jibu THIBITISHA MK-101"),
    ]
    assert all(len(body) <= 160 for _, body in sent)
    assert verifications(runtime) == [("Foundation complete", CHAIR, None)]

    assert phones.send("CONFIRM MK-101", CHAIR) == (
        "You asked for this verification: another PMC member must confirm it.")
    assert phones.send("CONFIRM MK-101", PHONE) == (
        "Sorry, this number is not on the PMC of MK-101.")
    assert phones.send("CONFIRM MK-102", SECRETARY) == (
        "Sorry, this number is not on the PMC of MK-102.")
    assert verifications(runtime) == [("Foundation complete", CHAIR, None)]

    assert phones.exchange("thibitisha mk-101", BOTH) == [
        (BOTH, "Asante. Kazi ya MK-101 imehakikiwa: Foundation complete."),
        (CHAIR, "Ndinda Mwende confirmed: works verified on MK-101: Foundation complete."),
    ]
    assert verifications(runtime) == [("Foundation complete", CHAIR, BOTH)]
    assert phones.send("CONFIRM MK-101", SECRETARY) == (
        "Nothing on MK-101 is waiting for confirmation.")


def test_confirm_takes_the_oldest_request_first(phones, runtime):
    phones.exchange("VERIFY MK-101 foundation", CHAIR)
    phones.exchange("VERIFY MK-101 walls up to lintel", CHAIR)
    assert phones.exchange("CONFIRM MK-101", SECRETARY) == [
        (SECRETARY, "Thank you. Works verified on MK-101: foundation. 1 more waiting: send "
                    "CONFIRM MK-101 again."),
        (CHAIR, "Kioko Mutua confirmed: works verified on MK-101: foundation."),
    ]
    assert phones.exchange("CONFIRM MK-101", SECRETARY) == [
        (SECRETARY, "Thank you. Works verified on MK-101: walls up to lintel."),
        (CHAIR, "Kioko Mutua confirmed: works verified on MK-101: walls up to lintel."),
    ]
    assert verifications(runtime) == [("foundation", CHAIR, SECRETARY),
                                      ("walls up to lintel", CHAIR, SECRETARY)]


def test_verify_refusals(phones, runtime):
    assert phones.send("VERIFY MK-101 foundation", SECRETARY) == (
        "Sorry, only the PMC chair of MK-101 can ask for works to be verified.")
    assert phones.send("VERIFY MK-101 foundation", PHONE) == (
        "Sorry, this number is not on the PMC of MK-101.")
    assert phones.send("VERIFY MK-999 foundation", PHONE) == (
        "There is no project with code MK-999. Please check the code and send again.")
    assert phones.send("VERIFY MK-101", CHAIR) == (
        "Send VERIFY, the project code and the work done. Example: VERIFY MK-101 foundation "
        "complete")
    assert phones.send("HAKIKI", BOTH) == (  # a chair of MK-102: the example is theirs
        "Tuma HAKIKI, nambari ya mradi na kazi iliyofanyika. Mfano: HAKIKI MK-102 msingi "
        "umekamilika")
    assert phones.send("CONFIRM", SECRETARY) == (
        "Send CONFIRM and the project code. Example: CONFIRM MK-101")
    stand_down(runtime, MEMBER)  # MK-102's only other member: nobody can confirm
    assert phones.exchange("VERIFY MK-102 roof", BOTH) == [
        (BOTH, "Noted: roof (MK-102). No other member of the PMC can confirm it now: please "
               "contact the county.")]
    assert verifications(runtime) == [("roof", BOTH, None)]


# ---- residents: INFO and REPORT -------------------------------------------------------------


def test_info_gives_a_project_in_one_sms(phones, runtime):
    add_contact(runtime, "makueni", PHONE, "en")
    before = phones.send("INFO MK-101", PHONE)
    assert before == ("MK-101 Kalawa market borehole: ongoing. No PMC report yet. Contract "
                      "KES 1.85M.\nComments: REPORT MK-101 <message>")
    phones.send("PMC MK-101 45 ATRISK", CHAIR)
    with runtime.sessions() as db:
        received = db.scalar(select(ProgressReport.received_at))
    day = received.astimezone(ZoneInfo("Africa/Nairobi")).date().isoformat()  # the county's
    after = phones.send("info  mk-101", PHONE)
    assert after == (f"MK-101 Kalawa market borehole: ongoing. PMC report {day}: 45%, at risk. "
                     "Contract KES 1.85M.\nComments: REPORT MK-101 <message>")
    assert phones.send("INFO MK-104", PHONE) == (
        "MK-104 Masongaleni ECDE classroom: planned. No PMC report yet. Contract not known.\n"
        "Comments: REPORT MK-104 <message>")
    add_contact(runtime, "makueni", PHONE, "sw")
    swahili = phones.send("MRADI MK-101", PHONE)
    assert swahili == (f"MK-101 Kalawa market borehole: inaendelea. Ripoti ya PMC {day}: 45%, "
                       "hatarini. Mkataba KES 1.85M.\nMaoni: RIPOTI MK-101 <ujumbe>")
    assert all(len(text) <= 160 for text in (before, after, swahili))


def test_info_for_an_unknown_code_or_none(phones, runtime):
    add_contact(runtime, "makueni", PHONE, "en")
    unknown = phones.send("INFO XX-404", PHONE)
    assert unknown == "There is no project with code XX-404. Please check the code and send again."
    assert len(unknown) <= 160
    assert phones.send("INFO", PHONE) == (
        "To learn about a project, send INFO and its code. Example: INFO MK-101")


def test_info_shortens_a_long_name_to_fit(phones, runtime):
    with runtime.sessions.begin() as db:
        project = db.scalar(select(Project).where(Project.code == "MK-102"))
        project.name = "Wote dispensary maternity wing, " * 6
    for language in ("en", "sw"):
        add_contact(runtime, "makueni", PHONE, language)
        phones.send("PMC MK-102 30 OFFTRACK", BOTH)
        text = phones.send("INFO MK-102", PHONE)
        assert text.startswith("MK-102 Wote dispensary maternity wing") and len(text) <= 160


def test_report_opens_a_ticket_on_the_project_once(client, phones, runtime, caplog):
    caplog.set_level(logging.DEBUG)
    message = "The borehole pump has been broken since Monday"
    for _ in range(2):  # AT's retry: one ticket, one reply
        post_sms(client, f"REPORT mk-101 {message}", sender=PHONE, at_id="ATXid_feedback")
        run_jobs(runtime)
    with runtime.sessions() as db:
        [ticket] = db.scalars(select(Ticket)).all()
        assert (ticket.msisdn, ticket.description, ticket.source_key, ticket.channel,
                ticket.category) == (PHONE, message, "ATXid_feedback", "report", "project")
        assert db.get(Project, ticket.project_id).code == "MK-101"
        assert db.scalars(select(ResidentFeedback)).all() == []  # tickets now, not feedback
    ref = ticket.reference
    assert [r.body for r in outbox(runtime)] == [
        f"Thank you. Your message about MK-101 Kalawa market borehole is ref {ref}. To follow "
        f"it, send STATUS {ref}."]
    assert [r.text for r in inbound(runtime)] == [f"REPORT mk-101 {message}"]  # kept
    assert message not in caplog.text and "borehole pump" not in caplog.text


def test_report_in_kiswahili_and_its_corrections(phones, runtime):
    add_contact(runtime, "makueni", PHONE, "sw")
    reply = phones.send("RIPOTI MK-103 barabara imeharibika tena", PHONE)
    with runtime.sessions() as db:
        ref = db.scalar(select(Ticket.reference))
    assert reply == (f"Asante. Ujumbe wako kuhusu MK-103 Mavindini-Wote feeder ni kumb. {ref}. "
                     f"Kuufuatilia, tuma HALI {ref}.")
    assert phones.send("RIPOTI MK-103", PHONE) == (
        "Tuma RIPOTI, nambari ya mradi na ujumbe wako. Mfano: RIPOTI MK-103 hakuna "
        "wafanyakazi wiki hii")
    assert phones.send("ripoti ZZ-1 hello", PHONE) == (
        "Hakuna mradi wenye nambari ZZ-1. Tafadhali hakiki nambari na utume tena.")
    add_contact(runtime, "makueni", PHONE, "en")
    assert phones.send("REPORT", PHONE) == (
        "Send REPORT, the project code and your message. Example: REPORT MK-101 no workers "
        "this week")
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket.description)).all() == ["barabara imeharibika tena"]


# ---- HELP -----------------------------------------------------------------------------------

MEMBER_LINES_EN = ("\nPMC <code> <%> ONTRACK/ATRISK/OFFTRACK/STALLED/COMPLETE"
                   "\nCONFIRM <code> - confirm works")
MEMBER_LINES_SW = ("\nPMC <nambari> <%> SAWA/HATARINI/NYUMA/IMEKWAMA/IMEKAMILIKA"
                   "\nTHIBITISHA <nambari> - thibitisha kazi")


def test_help_adds_pmc_lines_for_members_only(phones, runtime):
    assert phones.send("HELP", PHONE) == HELP_EN  # residents: one SMS, as before
    assert phones.send("HELP", SECRETARY) == HELP_EN + MEMBER_LINES_EN
    chair = phones.send("HELP", CHAIR)
    assert chair == (HELP_EN + "\nPMC <code> <%> ONTRACK/ATRISK/OFFTRACK/STALLED/COMPLETE"
                     "\nVERIFY <code> <work done> - chair\nCONFIRM <code> - confirm works")
    add_contact(runtime, "makueni", SECRETARY, "sw")
    assert phones.send("MSAADA", SECRETARY) == HELP_SW + MEMBER_LINES_SW
    for text in (chair, phones.send("MSAADA", BOTH)):
        assert len(text) <= 2 * 153  # two SMS parts at most
    stand_down(runtime, SECRETARY)
    assert phones.send("HELP", SECRETARY) == HELP_SW
