"""Early warning on projects (quiet, behind, trouble) and the weekly reminders to quiet PMCs.

Every date is fixed: the rules take `today`, the job and the CLI take `--today`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import event, select

from app.db.models import (
    Channel,
    Contact,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Project,
    ProjectStatus,
    ReportStatus,
    SendLane,
)
from app.i18n import Catalogs
from app.pmc import members, reports
from app.pmc.early_warning import (
    Flag,
    WarningRules,
    expected_progress,
    project_flags,
    quiet_for,
)
from app.pmc.projects import find_project, projects_of
from app.pmc.reminders import REMINDER, SMS_LIMIT, reminder_text, send_reminders
from app.pmc.warnings import flags_by_project
from app.services.dispatch import NOTICES
from app.services.organizations import organization_by_code
from app.settings import Settings, SettingsError, load_settings
from tests.pmc_support import add_makueni, import_fixtures, ok, run
from workers import cron
from workers.__main__ import build_worker

TODAY = date(2026, 3, 2)
RULES = WarningRules()  # quiet after 14 days, behind by more than 20 points, remind weekly
NAIROBI = ZoneInfo("Africa/Nairobi")
CHAIR, SECRETARY, BOTH, MUTUKU = ("+254712345001", "+254712345002", "+254712345003",
                                  "+254722345004")

# ---- the rules, pure --------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    received_at: datetime
    progress: int = 50
    status: str = ReportStatus.ONTRACK


def project(status: ProjectStatus = ProjectStatus.ONGOING, start: date | None = date(2026, 1, 1),
            end: date | None = date(2026, 4, 11)) -> Project:
    # 2026-01-01 to 2026-04-11 is 100 days: on TODAY (day 60) 60% of the works are due.
    return Project(code="MK-1", name="Borehole", status=status, start_date=start, end_date=end)


def days_ago(days: int, progress: int = 60, status: str = ReportStatus.ONTRACK,
             hour: int = 9) -> Report:
    day = TODAY - timedelta(days=days)
    return Report(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), progress, status)


def flags(p: Project, *newest_first: Report, today: date = TODAY, **kw) -> tuple[Flag, ...]:
    return project_flags(p, list(newest_first), today, RULES, **kw)


def test_quiet_from_exactly_n_days_without_a_report():
    assert flags(project(), days_ago(13)) == ()
    assert flags(project(), days_ago(14)) == (Flag.QUIET,)
    assert quiet_for(project(), [days_ago(30)], TODAY) == 30


def test_never_reported_is_counted_from_the_start():
    assert flags(project(start=TODAY - timedelta(days=13))) == ()
    assert flags(project(start=TODAY - timedelta(days=14))) == (Flag.QUIET,)
    # Reported on before the works began: the silence counts from the start.
    assert quiet_for(project(start=date(2026, 2, 20)), [days_ago(40)], TODAY) == 10


def test_a_project_not_started_is_never_quiet():
    assert flags(project(start=TODAY + timedelta(days=1))) == ()
    assert flags(project(status=ProjectStatus.PLANNED, start=date(2025, 1, 1))) == ()
    assert flags(project(status=ProjectStatus.PLANNED), days_ago(90)) == ()
    assert quiet_for(project(start=TODAY + timedelta(days=1)), [], TODAY) is None


def test_without_a_start_date_only_a_report_gives_something_to_count_from():
    assert flags(project(start=None, end=None)) == ()
    assert flags(project(start=None, end=None), days_ago(20)) == (Flag.QUIET,)


@pytest.mark.parametrize("status", [ProjectStatus.COMPLETED, ProjectStatus.CANCELLED])
def test_a_closed_project_has_no_flags_at_all(status):
    troubled = days_ago(60, progress=5, status=ReportStatus.STALLED)
    assert flags(project(status=status), troubled, troubled) == ()
    assert quiet_for(project(status=status), [], TODAY) is None


def test_a_pmc_that_reported_complete_is_not_asked_again():
    assert flags(project(), days_ago(30, progress=100, status=ReportStatus.COMPLETE)) == ()


def test_report_days_are_read_in_the_organization_zone():
    # 22:30 UTC on 15 February is already 16 February in Nairobi: 13 days, not 14.
    late = days_ago(14, hour=22)
    late = Report(late.received_at.replace(minute=30), late.progress, late.status)
    assert flags(project(), late) == (Flag.QUIET,)
    assert flags(project(), late, tz=NAIROBI) == ()


def test_behind_by_more_than_the_threshold_only():
    assert expected_progress(project(), TODAY) == 60
    assert flags(project(), days_ago(1, progress=40)) == ()  # exactly 20 points behind
    assert flags(project(), days_ago(1, progress=39)) == (Flag.BEHIND,)
    assert flags(project(), days_ago(1, progress=100)) == ()  # ahead is fine


def test_expected_progress_is_clamped_to_the_dates():
    p = project()
    assert expected_progress(p, date(2025, 12, 1)) == 0
    assert expected_progress(p, date(2026, 1, 1)) == 0
    assert expected_progress(p, date(2026, 1, 4)) == 3
    assert expected_progress(project(end=date(2026, 1, 4)), date(2026, 1, 2)) == Fraction(100, 3)
    assert expected_progress(p, date(2026, 4, 11)) == 100
    assert expected_progress(p, date(2027, 1, 1)) == 100
    late = date(2026, 5, 1)
    assert flags(p, Report(datetime(2026, 4, 30, tzinfo=UTC), 79), today=late) == (Flag.BEHIND,)
    assert flags(p, Report(datetime(2026, 4, 30, tzinfo=UTC), 80), today=late) == ()


def test_no_schedule_or_no_report_means_never_behind():
    assert expected_progress(project(end=None), TODAY) is None
    assert expected_progress(project(start=None), TODAY) is None
    assert expected_progress(project(end=date(2025, 12, 31)), TODAY) is None  # end before start
    assert flags(project(end=None), days_ago(1, progress=0)) == ()
    assert flags(project(end=date(2025, 12, 31)), days_ago(1, progress=0)) == ()
    assert flags(project(start=date(2026, 2, 20))) == ()  # started, silent 10 days, no report


def test_trouble_needs_two_reports_in_a_row():
    at_risk = days_ago(2, status=ReportStatus.ATRISK)
    stalled = days_ago(1, status=ReportStatus.STALLED)
    off = days_ago(3, status=ReportStatus.OFFTRACK)
    fine = days_ago(1, status=ReportStatus.ONTRACK)
    assert flags(project(), stalled, at_risk) == (Flag.TROUBLE,)
    assert flags(project(), at_risk, off) == (Flag.TROUBLE,)
    assert flags(project(), stalled) == ()  # one alone
    assert flags(project(), fine, at_risk) == ()  # the latest is fine again
    assert flags(project(), at_risk, days_ago(3)) == ()  # the one before was fine
    assert flags(project(), fine, at_risk, off) == ()  # only the two latest count


def test_every_flag_at_once_in_a_fixed_order():
    stalled = days_ago(20, progress=10, status=ReportStatus.STALLED)
    assert flags(project(), stalled, days_ago(30, 5, ReportStatus.ATRISK)) == (
        Flag.QUIET, Flag.BEHIND, Flag.TROUBLE)
    assert [str(f) for f in Flag] == ["quiet", "behind", "trouble"]


def test_rules_come_from_settings():
    assert WarningRules.from_settings(Settings()) == WarningRules(14, 20, 7)
    settings = load_settings({"PMC_QUIET_DAYS": "21", "PMC_BEHIND_BY": "0",
                              "PMC_REMINDER_DAYS": "3", "PMC_REMINDER_INTERVAL": "3600"})
    assert WarningRules.from_settings(settings) == WarningRules(21, 0, 3)
    assert settings.pmc_reminder_interval == 3600
    assert load_settings({}).pmc_reminder_interval == 86400


@pytest.mark.parametrize(("name", "value"), [
    ("PMC_QUIET_DAYS", "0"), ("PMC_QUIET_DAYS", "two"), ("PMC_BEHIND_BY", "101"),
    ("PMC_BEHIND_BY", "-1"), ("PMC_REMINDER_DAYS", "0"), ("PMC_REMINDER_INTERVAL", "10")])
def test_bad_warning_settings_are_refused(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_the_reminder_fits_one_sms_in_every_language():
    catalogs = Catalogs(Settings().locales_dir)
    for language in catalogs.languages:
        _ = catalogs.gettext_for(language)
        assert language == "en" or _(REMINDER) != REMINDER
        text = reminder_text(_, "Makueni County", "MK-10001", "x" * 200, 1000)
        assert len(text) <= SMS_LIMIT and "x..." in text and "PMC MK-10001 40" in text
    _ = catalogs.gettext_for("en")
    assert reminder_text(_, "Makueni County", "MK-1", "Borehole", 15) == (
        "Makueni County: no PMC report on MK-1 (Borehole) for 15 days. Please send one, "
        "e.g. PMC MK-1 40 ONTRACK")


# ---- from the database ------------------------------------------------------------------


@pytest.fixture
def org(runtime, monkeypatch) -> int:
    """Makueni's projects and PMCs from tests/data: MK-101 (started 2025-07-01, 3 members),
    MK-102 (2025-09-15, 2 members; Ndinda sits on both), MK-103 completed, MK-104 planned."""
    organization_id = add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)
    return organization_id


def report(runtime, org_id: int, code: str, msisdn: str, at: datetime, progress: int = 50,
           status: ReportStatus = ReportStatus.ONTRACK) -> None:
    with runtime.sessions.begin() as db:
        seat = members.seat_on(db, find_project(db, org_id, code), msisdn)
        reports.record_report(db, seat, channel=Channel.SMS, progress=progress, status=status,
                              received_at=at)


def local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=NAIROBI)


def test_flags_by_project_match_the_rules_in_few_queries(runtime, org):
    report(runtime, org, "MK-101", CHAIR, local(date(2026, 2, 1)), 30, ReportStatus.ATRISK)
    report(runtime, org, "MK-101", SECRETARY, local(date(2026, 2, 10)), 35, ReportStatus.STALLED)
    report(runtime, org, "MK-102", MUTUKU, local(date(2026, 2, 26)), 60)
    report(runtime, org, "MK-102", BOTH, local(date(2026, 2, 27), hour=1), 55)  # 26 Feb UTC
    statements = []
    event.listen(runtime.db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with runtime.sessions() as db:
        found = flags_by_project(db, org, TODAY, RULES)
        assert len(statements) <= 3  # the organization, its projects, two reports of each
        ids = {p.code: p.id for p in projects_of(db, org)}
        assert {code: found[i] for code, i in ids.items()} == {
            "MK-101": (Flag.QUIET, Flag.BEHIND, Flag.TROUBLE),
            "MK-102": (),
            "MK-103": (),  # completed
            "MK-104": (),  # planned, no dates
        }
        for p in projects_of(db, org):
            assert found[p.id] == project_flags(p, reports.reports_of(db, p.id), TODAY, RULES,
                                                tz=NAIROBI), p.code
        # MK-102's latest, read in Nairobi time, came on 27 February: 13 days before 12 March.
        assert Flag.QUIET not in flags_by_project(db, org, date(2026, 3, 12), RULES)[
            ids["MK-102"]]
        nandi = organization_by_code(db, "nandi")
        assert flags_by_project(db, nandi.id, TODAY, RULES) == {}


def reminders_sent(runtime, org_id: int, today: date) -> list[tuple[str, str]]:
    """Run the reminders of `today`; the (number, text) of each SMS queued, by number."""
    with runtime.sessions.begin() as db:
        organization = db.get(Organization, org_id)
        ids = send_reminders(db, organization, today, RULES, runtime.catalogs.gettext_for)
    with runtime.sessions() as db:
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        assert all(r.lane == SendLane.NOTICE and r.sender == "40014" for r in rows)
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return sorted((r.msisdn, r.body) for r in rows)


def set_up_quiet_mk101(runtime, org_id: int) -> None:
    """MK-101 silent since it started; Kioko reads Kiswahili; Ndinda stood down from it;
    MK-102 reported on last week (not quiet)."""
    report(runtime, org_id, "MK-102", MUTUKU, local(TODAY - timedelta(days=6)), 40)
    with runtime.sessions.begin() as db:
        db.scalar(select(Contact).where(Contact.msisdn == SECRETARY)).language = "sw"
        members.seat_on(db, find_project(db, org_id, "MK-101"), BOTH).active = False


MK101_EN = ("Makueni County: no PMC report on MK-101 (Kalawa market borehole) for {} days. "
            "Please send one, e.g. PMC MK-101 40 ONTRACK")
MK101_SW = ("Makueni County: hakuna ripoti ya PMC kuhusu MK-101 (Kalawa market borehole) kwa "
            "siku {}. Tafadhali tuma moja, k.m. PMC MK-101 40 SAWA")


def test_quiet_project_members_are_reminded_in_their_language(runtime, org):
    set_up_quiet_mk101(runtime, org)
    assert reminders_sent(runtime, org, TODAY) == [
        (CHAIR, MK101_EN.format(244)), (SECRETARY, MK101_SW.format(244))]


def test_at_most_one_reminder_a_week(runtime, org):
    set_up_quiet_mk101(runtime, org)
    assert len(reminders_sent(runtime, org, TODAY)) == 2
    assert reminders_sent(runtime, org, TODAY) == []  # the same day again
    assert reminders_sent(runtime, org, TODAY + timedelta(days=6)) == []
    assert reminders_sent(runtime, org, TODAY + timedelta(days=7)) == [
        (CHAIR, MK101_EN.format(251)), (SECRETARY, MK101_SW.format(251))]


def test_a_report_or_an_opt_out_stops_reminders(runtime, org):
    set_up_quiet_mk101(runtime, org)
    with runtime.sessions.begin() as db:
        db.scalar(select(Contact).where(Contact.msisdn == SECRETARY)).opted_out = True
    assert reminders_sent(runtime, org, TODAY) == [(CHAIR, MK101_EN.format(244))]
    report(runtime, org, "MK-101", CHAIR, local(TODAY + timedelta(days=3)), 20)
    assert reminders_sent(runtime, org, TODAY + timedelta(days=7)) == []
    # A day later MK-102 has gone quiet: its two members, Ndinda (still its chair) included.
    assert [n for n, _ in reminders_sent(runtime, org, TODAY + timedelta(days=8))] == [
        BOTH, MUTUKU]


def test_a_member_on_two_quiet_pmcs_gets_one_reminder_for_each(runtime, org):
    assert [n for n, _ in reminders_sent(runtime, org, TODAY)] == [
        CHAIR, SECRETARY, BOTH, BOTH, MUTUKU]


# ---- the job, the scheduler, the CLI ----------------------------------------------------

prod_only = pytest.mark.parametrize("stack", ["prod"])  # PostgreSQL + Redis only



def work(runtime) -> None:
    build_worker(runtime, SimpleWorker).work(burst=True, logging_level="WARNING")


def sent(runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as db:
        return sorted((r.msisdn, r.status) for r in db.scalars(select(OutboxMessage)))


@prod_only
def test_the_job_reminds_through_a_real_worker_once(at_runtime, fake_at, monkeypatch):
    org_id = add_makueni(at_runtime)
    import_fixtures(at_runtime, monkeypatch)
    set_up_quiet_mk101(at_runtime, org_id)
    notices = Queue(NOTICES, connection=at_runtime.redis)
    notices.enqueue("workers.jobs.pmc_reminders", TODAY.isoformat())
    work(at_runtime)  # the job queues two send jobs on the same queue; both run in this burst
    assert sent(at_runtime) == [(CHAIR, OutboxStatus.SENT), (SECRETARY, OutboxStatus.SENT)]
    assert sorted((r.to, r.sender, r.message) for r in fake_at.requests) == [
        ([CHAIR], "40014", MK101_EN.format(244)), ([SECRETARY], "40014", MK101_SW.format(244))]

    notices.enqueue("workers.jobs.pmc_reminders", (TODAY + timedelta(days=1)).isoformat())
    work(at_runtime)
    assert len(fake_at.requests) == 2 and len(sent(at_runtime)) == 2


@prod_only
def test_two_schedulers_enqueue_twice_and_nothing_is_sent_twice(at_runtime, fake_at,
                                                                  monkeypatch):
    org_id = add_makueni(at_runtime)
    import_fixtures(at_runtime, monkeypatch)
    set_up_quiet_mk101(at_runtime, org_id)
    settings = at_runtime.settings.with_overrides(pmc_reminder_interval=3600)
    for _ in range(2):  # two scheduler processes, or one restarted
        scheduler = CronScheduler(connection=at_runtime.redis)
        [job] = cron.register_jobs(scheduler, settings)
        assert (job.interval, job.queue_name, job.func_name) == (
            3600, NOTICES, "workers.jobs.pmc_reminders")
        job.kwargs = {"today": TODAY.isoformat()}  # a fixed day, not the wall clock
        assert scheduler.enqueue_jobs() == [job]  # an interval job runs at once on start
        assert scheduler.enqueue_jobs() == []  # and not again before its interval
    assert Queue(NOTICES, connection=at_runtime.redis).count == 2
    work(at_runtime)
    assert len(fake_at.requests) == 2
    assert sent(at_runtime) == [(CHAIR, OutboxStatus.SENT), (SECRETARY, OutboxStatus.SENT)]


def test_the_scheduler_can_follow_a_cron_expression(monkeypatch):
    scheduler = CronScheduler(connection=None)
    [job] = cron.register_jobs(scheduler, Settings(), "0 9 * * *")
    assert (job.cron, job.interval) == ("0 9 * * *", None)
    with pytest.raises(SystemExit):
        cron.main(["--cron", "every morning"])
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert cron.main([]) == 2  # no Redis: nothing to schedule on


def test_the_reminder_job_and_scheduler_do_not_import_flask():
    code = "import sys, workers.jobs, workers.cron; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_cli_flags(runtime, org, monkeypatch):
    report(runtime, org, "MK-102", MUTUKU, local(date(2026, 2, 27)), 55)
    result = ok(run(runtime, monkeypatch, "pmc", "flags", "--org", "makueni", "--json",
                    "--today", TODAY))
    assert json.loads(result.output) == {"organization": "makueni", "today": "2026-03-02",
                                         "projects": [
        {"code": "MK-101", "name": "Kalawa market borehole", "flags": ["quiet"]},
        {"code": "MK-102", "name": "Wote dispensary maternity wing", "flags": []},
        {"code": "MK-103", "name": "Mavindini-Wote feeder road grading", "flags": []},
        {"code": "MK-104", "name": "Masongaleni ECDE classroom", "flags": []}]}
    text = ok(run(runtime, monkeypatch, "pmc", "flags", "--org", "makueni", "--today",
                  TODAY)).output
    assert text.splitlines()[:2] == [f"{'MK-101':<20} quiet", f"{'MK-102':<20} -"]
    assert run(runtime, monkeypatch, "pmc", "flags", "--org", "nowhere").exit_code != 0
    bad = run(runtime, monkeypatch, "pmc", "flags", "--org", "makueni", "--today", "2.3.2026")
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_cli_remind_is_safe_to_repeat(runtime, org, monkeypatch):
    set_up_quiet_mk101(runtime, org)
    result = ok(run(runtime, monkeypatch, "pmc", "remind", "--org", "makueni", "--today",
                    TODAY))
    assert result.output == "makueni: 2 reminders queued\n"
    result = ok(run(runtime, monkeypatch, "pmc", "remind", "--today", TODAY))
    assert result.output == "makueni: 0 reminders queued\nnandi: 0 reminders queued\n"
    with runtime.sessions() as db:
        assert sorted(db.scalars(select(OutboxMessage.msisdn))) == [CHAIR, SECRETARY]
    assert run(runtime, monkeypatch, "pmc", "remind", "--org", "nowhere").exit_code != 0
