"""Project monitoring services: finding projects and seats, reports, sign-offs, feedback."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.cli import main
from app.db.models import (
    Channel,
    MainIssue,
    PmcRole,
    ProgressReport,
    Project,
    ProjectStatus,
    ReportStatus,
    ResidentFeedback,
)
from app.pmc import feedback, members, milestones, reports
from app.pmc.projects import find_project, projects_of, projects_of_ward
from app.services import places
from app.services.organizations import organization_by_code
from tests.conftest import SHARED_DATA
from tests.pmc_support import add_makueni, import_fixtures

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHAIR, SECRETARY, BOTH = "+254712345001", "+254712345002", "+254712345003"


@pytest.fixture
def org(runtime, monkeypatch) -> int:
    organization_id = add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)
    return organization_id


def seat(db, org_id: int, code: str, msisdn: str):
    return members.seat_on(db, find_project(db, org_id, code), msisdn)


# ---- projects and seats -------------------------------------------------------------------


def test_find_project_by_code_in_any_case_and_only_in_its_organization(runtime, org):
    with runtime.sessions() as db:
        assert find_project(db, org, " mk-101 ").name == "Kalawa market borehole"
        assert find_project(db, org, "MK-999") is None
        assert find_project(db, org, "not a code") is None
        nandi = organization_by_code(db, "nandi")
        assert find_project(db, nandi.id, "MK-101") is None
        assert [p.code for p in projects_of(db, org)] == ["MK-101", "MK-102", "MK-103",
                                                          "MK-104"]


def test_projects_of_a_ward(runtime, org):
    with runtime.sessions() as db:
        ward = {w.code: w.id for w in places.wards_of(db, org)}
        assert [p.code for p in projects_of_ward(db, org, ward["0424"])] == ["MK-103", "MK-102"]
        assert [p.code for p in projects_of_ward(db, org, ward["0416"])] == ["MK-101"]
        assert projects_of_ward(db, org, ward["0437"])[0].name == "Masongaleni ECDE classroom"


def test_a_phone_on_two_pmcs_sees_both_projects(runtime, org):
    with runtime.sessions() as db:
        assert [p.code for p in members.projects_of_phone(db, org, BOTH)] == ["MK-101", "MK-102"]
        roles = [(s.project.code, s.role, s.msisdn) for s in members.memberships(db, org, BOTH)]
        assert roles == [("MK-101", PmcRole.MEMBER, BOTH), ("MK-102", PmcRole.CHAIR, BOTH)]
        assert [p.code for p in members.projects_of_phone(db, org, CHAIR)] == ["MK-101"]
        assert members.projects_of_phone(db, org, "+254799999999") == []
        nandi = organization_by_code(db, "nandi")
        assert members.projects_of_phone(db, nandi.id, BOTH) == []  # no leak across counties
        assert seat(db, org, "MK-102", CHAIR) is None  # not on that PMC
        assert [s.name for s in members.members_of(db, find_project(db, org, "MK-101").id)] == [
            "Mwikali Musyoka", "Kioko Mutua", "Ndinda Mwende"]


def test_a_member_who_stood_down_has_no_seat(runtime, org):
    with runtime.sessions.begin() as db:
        seat(db, org, "MK-101", BOTH).active = False
    with runtime.sessions() as db:
        assert [p.code for p in members.projects_of_phone(db, org, BOTH)] == ["MK-102"]
        assert seat(db, org, "MK-101", BOTH) is None


# ---- reports ------------------------------------------------------------------------------


def test_a_report_is_recorded_once_per_source_message(runtime, org):
    with runtime.sessions.begin() as db:
        member = seat(db, org, "MK-101", CHAIR)
        first = reports.record_report(db, member, channel=Channel.SMS, progress=45,
                                      status=ReportStatus.ATRISK, issue=MainIssue.MATERIALS,
                                      comment="  cement   delayed ", source_message_id="ATXid_1",
                                      received_at=T0)
        assert first.created
        reference = first.report.reference
    with runtime.sessions.begin() as db:  # AT retries; a worker handles the message again
        again = reports.record_report(db, seat(db, org, "MK-101", CHAIR), channel="sms",
                                      progress=99, status="complete",
                                      source_message_id="ATXid_1")
        assert not again.created and again.report.reference == reference
        assert (again.report.progress, again.report.status) == (45, ReportStatus.ATRISK)
    with runtime.sessions() as db:
        [stored] = db.scalars(select(ProgressReport)).all()
        assert (stored.comment, stored.issue, stored.channel, stored.received_at) == (
            "cement delayed", MainIssue.MATERIALS, Channel.SMS, T0)
        assert (stored.project.code, stored.member.name) == ("MK-101", "Mwikali Musyoka")
        assert reports.report_for_message(db, "ATXid_1").id == stored.id


def test_the_database_refuses_a_second_report_for_the_same_message(runtime, org):
    """Two workers racing past the check: the unique key stops the second."""
    with runtime.sessions.begin() as db:
        reports.record_report(db, seat(db, org, "MK-101", CHAIR), channel="sms", progress=10,
                              status="ontrack", source_message_id="ATXid_race")
    with pytest.raises(IntegrityError), runtime.sessions.begin() as db:
        member = seat(db, org, "MK-101", SECRETARY)
        db.add(ProgressReport(organization_id=org, project_id=member.project_id,
                              member_id=member.id, channel="sms", progress=10,
                              status="ontrack", reference="PR100000",
                              source_message_id="ATXid_race"))
        db.flush()


def test_references_are_unique_readable_and_found_however_typed(runtime, org, monkeypatch):
    with runtime.sessions.begin() as db:
        member = seat(db, org, "MK-102", BOTH)
        made = [reports.record_report(db, member, channel="ussd", progress=i, status="ontrack",
                                      received_at=T0 + timedelta(minutes=i)).report.reference
                for i in range(40)]
    assert len(set(made)) == 40
    assert all(re.fullmatch(r"PR[1-9]\d{5}", r) for r in made)
    with runtime.sessions() as db:
        spaced = f"pr {made[0][2:5]}-{made[0][5:]}"
        assert reports.report_by_reference(db, org, spaced).reference == made[0]
        assert reports.report_by_reference(db, org, made[1][2:]).reference == made[1]
        assert reports.report_by_reference(db, org, "PR12") is None
        nandi = organization_by_code(db, "nandi")
        assert reports.report_by_reference(db, nandi.id, made[0]) is None
    # A drawn reference already used (or starting with 0) is drawn again.
    digits = iter(made[0][2:] + "012345" + "777777")
    monkeypatch.setattr(reports.secrets, "choice", lambda _: next(digits))
    with runtime.sessions.begin() as db:
        assert reports.new_reference(db, org) == "PR777777"


def test_latest_report_per_project(runtime, org):
    with runtime.sessions.begin() as db:
        chair, both = seat(db, org, "MK-101", CHAIR), seat(db, org, "MK-102", BOTH)
        for member, progress, minutes in ((chair, 20, 0), (chair, 35, 60), (both, 5, 30),
                                          (seat(db, org, "MK-101", SECRETARY), 30, 45)):
            reports.record_report(db, member, channel="sms", progress=progress,
                                  status="ontrack", received_at=T0 + timedelta(minutes=minutes))
        # two at the same moment: the later row wins
        reports.record_report(db, both, channel="ussd", progress=6, status="atrisk",
                              received_at=T0 + timedelta(minutes=30))
        ids = {p.code: p.id for p in projects_of(db, org)}
    with runtime.sessions() as db:
        latest = reports.latest_reports(db, list(ids.values()))
        assert {code: latest[i].progress for code, i in ids.items() if i in latest} == {
            "MK-101": 35, "MK-102": 6}
        assert reports.latest_report(db, ids["MK-103"]) is None
        assert reports.latest_reports(db, []) == {}
        assert [r.progress for r in reports.reports_of(db, ids["MK-101"])] == [35, 30, 20]


def test_reports_are_refused_from_stood_down_members_and_out_of_range(runtime, org):
    with runtime.sessions.begin() as db:
        member = seat(db, org, "MK-101", CHAIR)
        for progress in (-1, 101, True):
            with pytest.raises(reports.ReportRefused) as refused:
                reports.record_report(db, member, channel="sms", progress=progress,
                                      status="ontrack")
            assert refused.value.reason == reports.Refusal.BAD_PROGRESS
        member.active = False
        with pytest.raises(reports.ReportRefused) as refused:
            reports.record_report(db, member, channel="sms", progress=50, status="ontrack")
        assert refused.value.reason == reports.Refusal.INACTIVE_MEMBER
        with pytest.raises(ValueError):
            reports.record_report(db, seat(db, org, "MK-101", SECRETARY), channel="sms",
                                  progress=5, status="finished")
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(ProgressReport)) == 0


# ---- works verified -----------------------------------------------------------------------


def test_works_verified_needs_the_chair_and_a_second_member(runtime, org):
    with runtime.sessions.begin() as db:
        chair, secretary = seat(db, org, "MK-101", CHAIR), seat(db, org, "MK-101", SECRETARY)
        with pytest.raises(milestones.VerificationRefused) as refused:
            milestones.request_verification(db, secretary, "Foundation poured")
        assert refused.value.reason == milestones.Refusal.NOT_CHAIR
        asked = milestones.request_verification(db, chair, "  Foundation   poured ", at=T0)
        assert (asked.milestone, asked.verified) == ("Foundation poured", False)
        for member, reason in ((chair, milestones.Refusal.SAME_MEMBER),
                               (seat(db, org, "MK-102", BOTH), milestones.Refusal.OTHER_PROJECT)):
            with pytest.raises(milestones.VerificationRefused) as refused:
                milestones.confirm_verification(db, asked, member)
            assert refused.value.reason == reason
        assert milestones.pending_verifications(db, chair.project_id) == [asked]
        milestones.confirm_verification(db, asked, secretary, at=T0 + timedelta(hours=2))
        assert asked.verified and asked.confirmed_by.name == "Kioko Mutua"
        assert milestones.confirm_verification(db, asked, secretary).confirmed_at == (
            T0 + timedelta(hours=2))  # again: nothing changes
        with pytest.raises(milestones.VerificationRefused) as refused:
            milestones.confirm_verification(db, asked, seat(db, org, "MK-101", BOTH))
        assert refused.value.reason == milestones.Refusal.CONFIRMED_ALREADY
        assert milestones.pending_verifications(db, chair.project_id) == []
        assert milestones.verifications_of(db, chair.project_id) == [asked]


# ---- resident feedback --------------------------------------------------------------------


def test_resident_feedback_is_kept_once_per_message(runtime, org):
    with runtime.sessions.begin() as db:
        project = find_project(db, org, "MK-102")
        first = feedback.record_feedback(db, project, "+254700000101", "Works stopped  a week",
                                         source_message_id="ATXid_9", received_at=T0)
        again = feedback.record_feedback(db, project, "+254700000101", "Works stopped",
                                         source_message_id="ATXid_9")
        assert first.created and not again.created and again.feedback.id == first.feedback.id
        with pytest.raises(ValueError):
            feedback.record_feedback(db, project, "+254700000101", "   ")
    with runtime.sessions() as db:
        [stored] = db.scalars(select(ResidentFeedback)).all()
        assert (stored.text, stored.msisdn, stored.received_at) == (
            "Works stopped a week", "+254700000101", T0)
        assert feedback.feedback_of(db, stored.project_id) == [stored]


# ---- demo ---------------------------------------------------------------------------------


def test_demo_seed_gives_makueni_demo_projects_with_pmcs(runtime, monkeypatch):
    wards_csv = SHARED_DATA / "kenya_wards.csv"
    if not wards_csv.exists():
        pytest.skip(f"{wards_csv} is absent (reference data lives beside the checkout)")
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    result = CliRunner().invoke(main, ["demo", "seed", "--wards", str(wards_csv)])
    assert result.exit_code == 0, result.output
    with runtime.sessions() as db:
        makueni = organization_by_code(db, "makueni")
        found = projects_of(db, makueni.id)
        assert [p.code for p in found] == ["DEMO1", "DEMO2", "DEMO3"]
        assert all(p.name.startswith("Demo ") and "not a real" in p.contractor for p in found)
        assert [[w.name for w in p.wards] for p in found] == [["Kalawa"], ["Wote"], ["Kilungu"]]
        assert [p.status for p in found] == [ProjectStatus.ONGOING, ProjectStatus.ONGOING,
                                             ProjectStatus.PLANNED]
        assert [p.code for p in members.projects_of_phone(db, makueni.id, "+254700000201")] == [
            "DEMO1", "DEMO2"]
        pmc = members.members_of(db, found[0].id)
        assert [(s.name, s.role) for s in pmc] == [
            ("Demo resident 4", PmcRole.CHAIR), ("Demo resident 5", PmcRole.SECRETARY),
            ("Demo resident 6", PmcRole.MEMBER)]
        assert all(s.contact.ward_id == found[0].wards[0].id for s in pmc)
        nandi = organization_by_code(db, "nandi")
        assert db.scalar(select(func.count()).select_from(Project)
                         .where(Project.organization_id == nandi.id)) == 0
