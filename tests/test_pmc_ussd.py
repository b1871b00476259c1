"""PMC reports, works verified and "Projects in my ward" by USSD, driven with raw forms exactly
as AT posts them, on both stacks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.db.models import (
    Contact,
    MilestoneVerification,
    OutboxStatus,
    PmcMember,
    ProgressReport,
    Project,
    SendLane,
)
from app.pmc import members, milestones, reports
from app.pmc.projects import find_project
from app.pmc.report_flow import pmc_progress
from app.services import places
from app.services.organizations import organization_by_code
from tests.factories import add_contact
from tests.pb_phone import Phone, forget_session, lose_the_final_reply_once
from tests.pmc_support import WARDS, add_makueni, import_fixtures, ok, run
from tests.sms_support import outbox, run_jobs

# tests/data/makueni_pmc.csv: MK-101 chair, secretary and BOTH; MK-102 BOTH (chair), MEMBER.
CHAIR, SECRETARY, BOTH, MEMBER = "+254712345001", "+254712345002", "+254712345003", \
    "+254722345004"
RESIDENT = "+254712345678"
NAV = "0. Back\n00. Main menu"
MENU = ("CON Makueni County\n1. Vote on the budget\n2. Projects in my ward\n"
        "3. Complaints and feedback\n4. Language")
MEMBER_MENU = ("CON Makueni County\n1. Vote on the budget\n2. Projects in my ward\n"
               "3. PMC report\n4. Complaints and feedback\n5. Language")
PMC_MENU = ("CON PMC: what would you like to do?\n1. Send a progress report\n"
            "2. Confirm works verified\n" + NAV)
STATUS = ("How are the works going?\n1. On track\n2. At risk\n3. Off track\n4. Stalled\n"
          "5. Complete\n" + NAV)
PROGRESS = "CON How much of the works is done, in %? A number from 0 to 100:"  # 0 is 0%: no nav
ISSUE = ("CON Main issue?\n1. None\n2. Materials\n3. Labour\n4. Funds delayed\n5. Quality\n"
         "6. Safety\n7. Other issue\n" + NAV)
REFERENCE = re.compile(r"PR\d{6}")


@pytest.fixture
def org(runtime, monkeypatch) -> int:
    """Makueni with the projects and PMCs of tests/data; members chose English."""
    organization_id = add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)
    for msisdn in (CHAIR, SECRETARY, BOTH, MEMBER):
        add_contact(runtime, "makueni", msisdn, "en")
    return organization_id


def phone(client, msisdn: str) -> Phone:
    return Phone(client, msisdn)


def stored_reports(runtime) -> list[tuple]:
    """(project code, member's phone, progress, status, issue, channel, reference, source id)."""
    with runtime.sessions() as db:
        rows = db.execute(
            select(Project.code, Contact.msisdn, ProgressReport.progress, ProgressReport.status,
                   ProgressReport.issue, ProgressReport.channel, ProgressReport.reference,
                   ProgressReport.source_message_id)
            .join(Project, ProgressReport.project_id == Project.id)
            .join(PmcMember, ProgressReport.member_id == PmcMember.id)
            .join(Contact, PmcMember.contact_id == Contact.id)
            .order_by(ProgressReport.id))
        return [tuple(row) for row in rows]


def reference_in(screen: str) -> str:
    found = REFERENCE.findall(screen)
    assert len(found) == 1, screen
    return found[0]


def set_ward(runtime, msisdn: str, ward_code: str | None) -> None:
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        contact = db.scalar(select(Contact).where(Contact.organization_id == org.id,
                                                  Contact.msisdn == msisdn))
        contact.ward_id = places.place_by_code(db, org.id, ward_code).id if ward_code else None


def report_on(runtime, code: str, msisdn: str, progress: int, status: str) -> None:
    """A report that came in earlier (by SMS, say)."""
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        seat = members.seat_on(db, find_project(db, org.id, code), msisdn)
        reports.record_report(db, seat, channel="sms", progress=progress, status=status)


# -- the main menu ---------------------------------------------------------------------------


def test_only_a_pmc_member_sees_the_pmc_entry(client, runtime, org):
    add_contact(runtime, "makueni", RESIDENT, "en")
    assert phone(client, RESIDENT).dial() == MENU
    chair = phone(client, CHAIR)
    assert chair.dial() == MEMBER_MENU
    with runtime.sessions.begin() as db:  # a member who stood down is a resident again
        seat = members.seat_on(db, find_project(db, org, "MK-101"), CHAIR)
        seat.active = False
    assert chair.dial() == MENU
    # a number on a PMC of another county is not a member here
    with runtime.sessions.begin() as db:
        nandi = organization_by_code(db, "nandi")
        assert not members.memberships(db, nandi.id, SECRETARY)


# -- a progress report -----------------------------------------------------------------------


def test_a_member_reports_progress(client, runtime, org):
    chair = phone(client, CHAIR)
    chair.dial()
    assert chair.press("3") == PMC_MENU
    # one project: no list to choose from, its name heads the status screen
    assert chair.press("1") == "CON Kalawa market borehole\n" + STATUS
    assert chair.press("2") == PROGRESS
    assert chair.press("45%") == ISSUE
    assert chair.press("4") == ("CON Kalawa market borehole\nStatus: At risk\nProgress: 45%\n"
                                "Issue: Funds delayed\n1. Confirm\n2. Cancel\n" + NAV)
    assert stored_reports(runtime) == []  # nothing is stored before confirming
    thanks = chair.press("1")
    reference = reference_in(thanks)
    assert thanks == (f"END Thank you. Your report is recorded. Reference: {reference}. "
                      "We will also send it by SMS.")
    assert stored_reports(runtime) == [("MK-101", CHAIR, 45, "atrisk", "funds_delayed", "ussd",
                                        reference, f"ussd:{chair.session}")]
    run_jobs(runtime)
    [sms] = outbox(runtime)
    assert (sms.msisdn, sms.lane, sms.status, sms.body) == (
        CHAIR, SendLane.REPLY, OutboxStatus.SENT,
        f"Your PMC report on Kalawa market borehole is recorded: At risk, 45%. Reference: "
        f"{reference}. Thank you.")


def test_a_member_of_two_pmcs_picks_the_project(client, runtime, org):
    both = phone(client, BOTH)
    both.dial()
    both.press("3")
    assert both.press("1") == ("CON Which project?\n1. Kalawa market borehole\n"
                               "2. Wote dispensary maternity wing\n" + NAV)
    assert both.press("2") == "CON Wote dispensary maternity wing\n" + STATUS
    # back to the list, and the other project
    assert both.press("0").startswith("CON Which project?\n")
    assert both.press("1") == "CON Kalawa market borehole\n" + STATUS
    assert both.press("0", "2", "5", "100", "1").startswith(
        "CON Wote dispensary maternity wing\nStatus: Complete\nProgress: 100%\nIssue: None\n")
    reference = reference_in(both.press("1"))
    assert stored_reports(runtime) == [("MK-102", BOTH, 100, "complete", "none", "ussd",
                                        reference, f"ussd:{both.session}")]
    with runtime.sessions() as db:  # the report is on BOTH's seat of MK-102, not of MK-101
        report = db.scalar(select(ProgressReport))
        assert report.member.project.code == "MK-102" and report.member.role == "chair"


def test_a_bad_progress_is_corrected_politely_and_0_is_an_answer(client, runtime, org):
    chair = phone(client, CHAIR)
    chair.dial()
    chair.press("3", "1", "4")
    again = "CON Please type a number from 0 to 100, e.g. 45.\n" + PROGRESS[4:]
    assert chair.press("abc") == again
    assert chair.press("101") == again
    assert chair.press("-5") == again
    assert chair.press("") == again
    assert chair.press("0") == ISSUE  # 0%, not "Back"
    assert chair.press("2").startswith("CON Kalawa market borehole\nStatus: Stalled\n"
                                       "Progress: 0%\nIssue: Materials\n")
    chair.press("1")
    assert [row[2:5] for row in stored_reports(runtime)] == [(0, "stalled", "materials")]


def test_cancel_stores_nothing(client, runtime, org):
    chair = phone(client, CHAIR)
    chair.dial()
    chair.press("3", "1", "1", "60", "1")
    assert chair.press("2") == "END Cancelled. Your report was not sent."
    assert stored_reports(runtime) == []
    assert outbox(runtime) == []


def test_a_retried_final_hop_stores_one_report(client, runtime, org):
    chair = phone(client, CHAIR)
    chair.dial()
    chair.press("3", "1", "1", "60", "1")
    thanks = chair.press("1")
    assert chair.post() == thanks  # AT retries the hop: the same bytes, nothing applied
    forget_session(runtime, chair)
    assert chair.post() == "END Your session has expired. Please dial again."
    run_jobs(runtime)
    assert len(stored_reports(runtime)) == 1
    assert len(outbox(runtime)) == 1


def test_a_confirm_whose_reply_was_lost_stores_one_report(client, runtime, org, monkeypatch):
    """The report is committed but the session could not be saved: AT's retry resumes from the
    summary, finds the session's report, and shows its reference again; no second SMS."""
    chair = phone(client, CHAIR)
    chair.dial()
    chair.press("3", "1", "1", "60", "1")
    lose_the_final_reply_once(runtime, monkeypatch)
    assert chair.press("1") == "END Sorry, something went wrong. Please try again."
    [stored] = stored_reports(runtime)
    assert reference_in(chair.post()) == stored[6]
    run_jobs(runtime)
    assert len(stored_reports(runtime)) == 1
    assert [stored[6] in sms.body for sms in outbox(runtime)] == [True]


def test_a_member_who_stood_down_mid_session_records_nothing(client, runtime, org):
    chair = phone(client, CHAIR)
    chair.dial()
    chair.press("3", "1", "1", "60", "1")
    with runtime.sessions.begin() as db:
        members.seat_on(db, find_project(db, org, "MK-101"), CHAIR).active = False
    assert chair.press("1") == ("END Sorry, you are not on this project's PMC now. Nothing was "
                                "recorded.")
    assert stored_reports(runtime) == []


# -- works verified --------------------------------------------------------------------------


def ask_verification(runtime, code: str, chair: str, milestone: str) -> int:
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        seat = members.seat_on(db, find_project(db, org.id, code), chair)
        return milestones.request_verification(db, seat, milestone).id


def test_a_second_member_confirms_works_verified(client, runtime, org):
    asked = ask_verification(runtime, "MK-101", CHAIR, "Foundation slab done")
    # the chair who asked cannot be the second pair of eyes
    chair = phone(client, CHAIR)
    chair.dial()
    chair.press("3")
    assert chair.press("2") == "END No works are waiting for your confirmation now."
    secretary = phone(client, SECRETARY)
    secretary.dial()
    secretary.press("3")
    assert secretary.press("2") == ("CON Which works have you checked?\n"
                                    "1. Foundation slab done\n" + NAV)
    assert secretary.press("1") == ("CON Kalawa market borehole: Foundation slab done\n"
                                    "Confirm these works are done?\n1. Confirm\n2. Cancel\n"
                                    + NAV)
    assert secretary.press("1") == ("END Thank you. You confirmed Kalawa market borehole: "
                                    "Foundation slab done. The works now show as verified.")
    with runtime.sessions() as db:
        verification = db.get(MilestoneVerification, asked)
        assert verification.verified and verification.confirmed_by.msisdn == SECRETARY
    both = phone(client, BOTH)  # nothing is left to confirm
    both.dial()
    both.press("3")
    assert both.press("2") == "END No works are waiting for your confirmation now."


def test_works_on_two_projects_and_a_confirmation_someone_else_made_first(client, runtime,
                                                                            org):
    ask_verification(runtime, "MK-101", CHAIR, "Pump house roofed")
    on_102 = ask_verification(runtime, "MK-102", BOTH, "Walls up to the ring beam")
    both, secretary = phone(client, BOTH), phone(client, SECRETARY)
    both.dial()
    both.press("3")
    # BOTH asked for MK-102's: only MK-101's is theirs to confirm
    assert both.press("2") == ("CON Which works have you checked?\n1. Pump house roofed\n"
                               + NAV)
    assert both.press("1").startswith("CON Kalawa market borehole: Pump house roofed\n")
    secretary.dial()
    secretary.press("3", "2", "1")
    assert secretary.press("1").startswith("END Thank you. You confirmed ")
    assert both.press("1") == "END Another member has already confirmed these works."
    member = phone(client, MEMBER)
    member.dial()
    member.press("3", "2", "1")
    assert member.press("2") == "END Cancelled. Nothing was confirmed."
    with runtime.sessions() as db:
        assert not db.get(MilestoneVerification, on_102).verified
    # a member on two PMCs with works waiting on both sees which project each is on
    ask_verification(runtime, "MK-101", CHAIR, "Tank stand painted")
    with runtime.sessions.begin() as db:  # MK-102 elects a new chair
        project = find_project(db, org, "MK-102")
        members.seat_on(db, project, BOTH).role = "member"
        members.seat_on(db, project, MEMBER).role = "chair"
    ask_verification(runtime, "MK-102", MEMBER, "Roof trusses fixed")
    both.dial()
    both.press("3")
    assert both.press("2") == ("CON Which works have you checked?\n"
                               "1. Kalawa market: Tank stand painted\n"
                               "2. Wote dispensary: Roof trusses fixed\n" + NAV)


# -- projects in my ward ---------------------------------------------------------------------


def test_projects_in_a_known_ward_with_details_and_back(client, runtime, org):
    add_contact(runtime, "makueni", RESIDENT, "en")
    set_ward(runtime, RESIDENT, "0424")  # Wote
    report_on(runtime, "MK-102", MEMBER, 45, "ontrack")
    resident = phone(client, RESIDENT)
    resident.dial()
    listing = ("CON Projects in Wote:\n1. Mavindini-Wote feeder road - Completed\n"
               "2. Wote dispensary maternity wing - Ongoing 45%\n" + NAV)
    assert resident.press("2") == listing
    assert resident.press("2") == ("CON Wote dispensary maternity wing\n"
                                   "Status: Ongoing, progress 45%\n"
                                   "Contract value: KES 4.2M\n1. Another ward\n" + NAV)
    assert resident.press("0") == listing
    assert resident.press("1") == ("CON Mavindini-Wote feeder road grading\n"
                                   "Status: Completed, no report yet\n"
                                   "Contract value: KES 2.75M\n1. Another ward\n" + NAV)
    # another ward: asked as the vote flow asks it
    assert resident.press("1") == ("CON Choose your sub-county\n1. Kibwezi East\n2. Makueni\n"
                                   "3. Mbooni\n" + NAV)
    assert resident.press("1") == "CON Choose your ward\n1. Masongaleni\n" + NAV
    assert resident.press("1") == ("CON Projects in Masongaleni:\n"
                                   "1. Masongaleni ECDE classroom - Planned\n" + NAV)
    assert resident.press("1") == ("CON Masongaleni ECDE classroom\n"
                                   "Status: Planned, no report yet\n"
                                   "Contract value: not set\n1. Another ward\n" + NAV)
    with runtime.sessions() as db:  # looking at a ward does not make it the resident's
        assert db.scalar(select(Contact.ward_id).where(Contact.msisdn == RESIDENT)) == \
            places.place_by_code(db, org, "0424").id


def test_an_unknown_ward_is_asked_and_a_ward_without_projects_says_so(client, runtime, org):
    with runtime.sessions.begin() as db:  # a ward with no project yet
        ward = dict(WARDS[0], ward_code="0417", ward_name="Kako/Waia")
        places.import_kenya_wards(db, org, [ward], "Makueni")
    add_contact(runtime, "makueni", RESIDENT, "en")
    resident = phone(client, RESIDENT)
    resident.dial()
    assert resident.press("2") == ("CON Choose your sub-county\n1. Kibwezi East\n2. Makueni\n"
                                   "3. Mbooni\n" + NAV)
    assert resident.press("3") == "CON Choose your ward\n1. Kako/Waia\n2. Kalawa\n" + NAV
    assert resident.press("1") == ("CON No county projects are listed for Kako/Waia yet.\n"
                                   "1. Choose another ward\n" + NAV)
    assert resident.press("0") == "CON Choose your ward\n1. Kako/Waia\n2. Kalawa\n" + NAV
    assert resident.press("2") == ("CON Projects in Kalawa:\n"
                                   "1. Kalawa market borehole - Ongoing\n" + NAV)


def test_a_long_list_of_projects_is_paged(client, runtime, org, monkeypatch, tmp_path):
    names = ["Kalawa ECDE classroom", "Kalawa health centre fence", "Kalawa cattle dip",
             "Kalawa water pan desilting", "Kalawa youth polytechnic", "Kalawa road culverts",
             "Kalawa market toilets"]
    rows = ["code,name,ward_code,department,contractor,contract_value,amount_paid,start_date,"
            "end_date,status"]
    rows += [f"KL-{i},{name},0416,,,{(i + 1) * 100_000},0,,,ongoing"
             for i, name in enumerate(names, start=1)]
    csv = tmp_path / "kalawa.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ok(run(runtime, monkeypatch, "projects", "import", csv, "--org", "makueni"))
    add_contact(runtime, "makueni", RESIDENT, "en")
    set_ward(runtime, RESIDENT, "0416")
    resident = phone(client, RESIDENT)
    resident.dial()
    first = resident.press("2")
    # pages are cut so that each fits even under an error line: two projects a page here
    assert first == ("CON Projects in Kalawa:\n1. Kalawa cattle dip - Ongoing\n"
                     "2. Kalawa ECDE classroom - Ongoing\n98. More\n" + NAV)
    second = resident.press("98")
    assert second == ("CON Projects in Kalawa:\n3. Kalawa health centre fence - Ongoing\n"
                      "4. Kalawa market borehole - Ongoing\n98. More\n" + NAV)
    assert resident.press("98", "98") == ("CON Projects in Kalawa:\n"
                                          "7. Kalawa water pan desilting - Ongoing\n"
                                          "8. Kalawa youth polytechnic - Ongoing\n" + NAV)
    assert resident.press("0", "0") == second  # back a page at a time
    assert resident.press("6") == ("CON Kalawa road culverts\nStatus: Ongoing, no report yet\n"
                                   "Contract value: KES 700K\n1. Another ward\n" + NAV)
    assert resident.press("0") == first  # back to the list


# -- Kiswahili -------------------------------------------------------------------------------


def test_kiswahili_screens(client, runtime, org):
    add_contact(runtime, "makueni", BOTH, "sw")
    nav = "0. Rudi\n00. Menyu kuu"
    both = phone(client, BOTH)
    assert both.dial() == ("CON Makueni County\n1. Piga kura ya bajeti\n"
                           "2. Miradi ya wadi yangu\n3. Ripoti ya PMC\n4. Malalamiko na maoni\n"
                           "5. Lugha")
    assert both.press("3") == ("CON PMC: ungependa kufanya nini?\n1. Tuma ripoti ya maendeleo\n"
                               "2. Thibitisha kazi zimekaguliwa\n" + nav)
    assert both.press("1") == ("CON Mradi upi?\n1. Kalawa market borehole\n"
                               "2. Wote dispensary maternity wing\n" + nav)
    assert both.press("1") == ("CON Kalawa market borehole\nKazi inaendeleaje?\n1. Sawa\n"
                               "2. Hatarini\n3. Nyuma ya ratiba\n4. Imekwama\n"
                               "5. Imekamilika\n" + nav)
    progress = "Kazi imefikia asilimia ngapi? Nambari kuanzia 0 hadi 100:"
    assert both.press("3") == "CON " + progress
    assert both.press("asilimia 30") == ("CON Tafadhali andika nambari kuanzia 0 hadi 100, "
                                         "mfano 45.\n" + progress)
    assert both.press("30") == ("CON Tatizo kuu?\n1. Hakuna\n2. Vifaa\n3. Wafanyakazi\n"
                                "4. Fedha zimechelewa\n5. Ubora\n6. Usalama\n"
                                "7. Tatizo lingine\n" + nav)
    assert both.press("3") == ("CON Kalawa market borehole\nHali: Nyuma ya ratiba\n"
                               "Maendeleo: 30%\nTatizo: Wafanyakazi\n1. Thibitisha\n2. Ghairi\n"
                               + nav)
    thanks = both.press("1")
    reference = reference_in(thanks)
    assert thanks == (f"END Asante. Ripoti yako imerekodiwa. Kumbukumbu: {reference}. "
                      "Tutaituma pia kwa SMS.")
    run_jobs(runtime)
    assert [sms.body for sms in outbox(runtime)] == [
        f"Ripoti yako ya PMC kuhusu Kalawa market borehole imerekodiwa: Nyuma ya ratiba, 30%. "
        f"Kumbukumbu: {reference}. Asante."]
    assert [row[2:6] for row in stored_reports(runtime)] == [(30, "offtrack", "labour", "ussd")]
    both.dial()
    both.press("3", "1", "2", "1", "50", "1")
    assert both.press("2") == "END Imeghairiwa. Ripoti yako haikutumwa."
    both.dial()
    both.press("3")
    assert both.press("2") == "END Hakuna kazi inayosubiri uthibitisho wako sasa."
    # projects in the ward of a Kiswahili speaker
    set_ward(runtime, BOTH, "0424")
    both.dial()
    assert both.press("2") == ("CON Miradi ya Wote:\n1. Mavindini-Wote feeder road - Imekamilika\n"
                               "2. Wote dispensary maternity wing - Inaendelea\n" + nav)
    assert both.press("2") == ("CON Wote dispensary maternity wing\n"
                               "Hali: Inaendelea, bado hakuna ripoti\n"
                               "Thamani ya mkataba: KES 4.2M\n1. Wadi nyingine\n" + nav)


# -- the validator -----------------------------------------------------------------------------


def test_progress_validator():
    assert [getattr(pmc_progress(t), "value", None) for t in (
        "0", "45", "45%", " 45 % ", "100", "007", "101", "-1", "4.5", "abc", "", "%")] == [
        "0", "45", "45", "45", "100", "7", None, None, None, None, None, None]
