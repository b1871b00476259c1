"""`baraza projects import` (CSV, OCDS, OC4IDS) and `baraza pmc import`, on both stacks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import Contact, PmcMember, PmcRole, Project, ProjectStatus
from app.pmc.imports import ImportRefused, parse_amount
from app.pmc.ocds import merge, read_open_contracting
from tests.pmc_support import (
    OC4IDS_JSON,
    OCDS_JSON,
    PMC_CSV,
    PROJECTS_CSV,
    add_makueni,
    import_fixtures,
    ok,
    run,
)

HEADER = "code,name,ward_code,department,contractor,contract_value,amount_paid,start_date," \
         "end_date,status\n"


@pytest.fixture
def org(runtime) -> int:
    return add_makueni(runtime)


def projects(runtime) -> dict[str, Project]:
    with runtime.sessions() as db:
        rows = db.scalars(select(Project)).all()
        for project in rows:
            project.ward_codes = sorted(w.code for w in project.wards)
        return {p.code: p for p in rows}


def count(runtime, model) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def write(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_projects(runtime, monkeypatch, path: Path, *extra):
    return run(runtime, monkeypatch, "projects", "import", path, "--org", "makueni", *extra)


# ---- projects CSV -------------------------------------------------------------------------


def test_csv_import_creates_projects_with_their_wards_and_amounts(runtime, monkeypatch, org):
    result = ok(import_projects(runtime, monkeypatch, PROJECTS_CSV))
    assert result.stdout.strip() == (
        "makueni: 4 projects from makueni_projects.csv: 4 created, 0 updated, 0 unchanged")
    found = projects(runtime)
    assert sorted(found) == ["MK-101", "MK-102", "MK-103", "MK-104"]
    borehole = found["MK-101"]
    assert (borehole.name, borehole.ward_codes, borehole.department, borehole.contractor) == (
        "Kalawa market borehole", ["0416"], "Water and Sanitation", "Mfano Drillers Ltd")
    assert (borehole.contract_value, borehole.amount_paid, borehole.status) == (
        1_850_000, 600_000, ProjectStatus.ONGOING)
    assert (borehole.start_date, borehole.end_date) == (date(2025, 7, 1), date(2026, 3, 31))
    # lower-case code, "424" for 0424, "4200000.00", "Ongoing"
    wing = found["MK-102"]
    assert (wing.ward_codes, wing.contract_value, wing.status) == (
        ["0424"], 4_200_000, ProjectStatus.ONGOING)
    assert found["MK-103"].ward_codes == ["0424", "0426"]  # ';' separates wards
    assert found["MK-103"].department == "Roads, Transport and Public Works"
    assert found["MK-103"].status == ProjectStatus.COMPLETED
    classroom = found["MK-104"]  # '|' separates wards; empty value, paid, dates and status
    assert classroom.ward_codes == ["0428", "0437"]
    assert (classroom.contract_value, classroom.amount_paid, classroom.contractor) == (
        None, 0, None)
    assert (classroom.start_date, classroom.end_date, classroom.status) == (
        None, None, ProjectStatus.PLANNED)
    assert {p.ocid for p in found.values()} == {None}


def test_csv_reimport_changes_nothing_then_updates_by_code(runtime, monkeypatch, org, tmp_path):
    ok(import_projects(runtime, monkeypatch, PROJECTS_CSV))
    first = projects(runtime)
    again = ok(import_projects(runtime, monkeypatch, PROJECTS_CSV))
    assert again.stdout.strip().endswith("0 created, 0 updated, 4 unchanged")
    assert {c: p.updated_at for c, p in projects(runtime).items()} == {
        c: p.updated_at for c, p in first.items()}
    text = PROJECTS_CSV.read_text(encoding="utf-8")
    changed = text.replace("2750000,2750000", "2750000,2700000").replace("0437|0428", "0437")
    result = ok(import_projects(runtime, monkeypatch, write(tmp_path, changed)))
    assert result.stdout.strip().endswith("0 created, 2 updated, 2 unchanged")
    after = projects(runtime)
    assert after["MK-103"].amount_paid == 2_700_000 and after["MK-104"].ward_codes == ["0437"]
    assert after["MK-104"].updated_at > first["MK-104"].updated_at
    assert after["MK-104"].id == first["MK-104"].id and count(runtime, Project) == 4


def test_csv_with_bad_rows_names_every_line_and_imports_nothing(runtime, monkeypatch, org,
                                                                 tmp_path):
    text = HEADER + "\n".join([
        "OK-1,A good row,0416,,,1000,0,2025-01-01,2025-12-31,ongoing",   # line 2: fine
        "OK-2,Unknown ward,0999,,,1000,0,,,",                               # 3
        "OK-3,Bad date,0416,,,1000,0,2025-13-01,31/12/2025,",               # 4
        "OK-4,Bad amounts,0416,,,12.50,-5,,,",                               # 5
        "ok-1,Same code as line 2,0416,,,,,,,",                              # 6
        ",,0416,,,,,,,planned",                                              # 7
        "OK 7,Bad code and status,0416,,,,,,,finished",                      # 8
        "OK-8,Ends before it starts,0416,,,,,2025-06-01,2025-01-01,",        # 9
    ]) + "\n"
    result = import_projects(runtime, monkeypatch, write(tmp_path, text, "bad.csv"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines() == [
        "Error: bad.csv: 11 problems, nothing imported:",
        "  line 3: ward_code: no ward '0999' in this organization",
        "  line 4: start_date: '2025-13-01' is not a date",
        "  line 4: end_date: '31/12/2025' is not an ISO date (YYYY-MM-DD)",
        "  line 5: contract_value: '12.50' has a fraction; amounts are whole units",
        "  line 5: amount_paid: '-5' is not an amount (whole units, e.g. 1250000)",
        "  line 6: code OK-1 is also on line 2",
        "  line 7: code: required",
        "  line 7: name: required",
        "  line 8: code: 'OK 7' is not a project code (1-20 letters or digits, hyphens allowed "
        "inside)",
        "  line 8: status: 'finished' is not one of planned, ongoing, stalled, completed, "
        "cancelled",
        "  line 9: end_date 2025-01-01 is before start_date 2025-06-01",
    ]
    assert count(runtime, Project) == 0


def test_a_quoted_line_break_keeps_line_numbers_true(runtime, monkeypatch, org, tmp_path):
    text = HEADER + 'Q-1,"Two\nlines",0416,,,,,,,\nQ-2,Bad ward,0416;0999,,,,,,,\n'
    result = import_projects(runtime, monkeypatch, write(tmp_path, text, "q.csv"))
    assert result.output.splitlines() == [
        "Error: q.csv: 1 problem, nothing imported:",
        "  line 4: ward_code: no ward '0999' in this organization"]


def test_csv_without_the_columns_or_rows_is_refused(runtime, monkeypatch, org, tmp_path):
    result = import_projects(runtime, monkeypatch, write(tmp_path, "code,name\nA,B\n"))
    assert result.exit_code == 1
    assert "line 1: missing columns: ward_code, department, contractor" in result.output
    empty = import_projects(runtime, monkeypatch, write(tmp_path, HEADER, "empty.csv"))
    assert empty.exit_code == 1 and "no projects in the file" in empty.output
    unknown = run(runtime, monkeypatch, "projects", "import", PROJECTS_CSV, "--org", "kitui")
    assert unknown.exit_code == 1 and "no organization with code 'kitui'" in unknown.output


def test_csv_warnings_do_not_stop_the_import(runtime, monkeypatch, org, tmp_path):
    text = HEADER + "W-1,County-wide,,,,1000,2000,,,ongoing\n"
    result = ok(import_projects(runtime, monkeypatch, write(tmp_path, text)))
    assert "warning: line 2: W-1 has no ward" in result.stderr
    assert "warning: line 2: W-1 amount_paid 2000 is more than contract_value 1000" in (
        result.stderr)
    assert projects(runtime)["W-1"].amount_paid == 2000


@pytest.mark.parametrize(("text", "value"), [
    ("1250000", 1_250_000), ("1,250,000", 1_250_000), (" 1 250 000.00 ", 1_250_000),
    ("0", 0), ("", None)])
def test_amounts_are_whole_units(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["1.5", "-3", "KES 100", "1e6", "12.", "."])
def test_amounts_that_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


# ---- Open Contracting ---------------------------------------------------------------------


def test_ocds_release_package_merges_releases_per_ocid(runtime, monkeypatch, org):
    result = ok(import_projects(runtime, monkeypatch, OCDS_JSON))
    assert result.stdout.strip().endswith(": 3 created, 0 updated, 0 unchanged")
    found = projects(runtime)
    assert sorted(found) == ["1", "2", "3"]  # numbered in the order the ocids first appear
    pan = found["1"]
    assert (pan.ocid, pan.name, pan.status) == (
        "ocds-test01-MKN-2025-017", "Construction of Kathonzweni water pan",
        ProjectStatus.ONGOING)
    assert (pan.department, pan.contractor) == (
        "Department of Water, Sanitation and Irrigation", "Mfano Contractors Ltd")
    # the contract's value (not the tender estimate, nor the award's 2940000.40); two payments
    assert (pan.contract_value, pan.amount_paid) == (2_940_000, 1_470_000)
    assert (pan.start_date, pan.end_date) == (date(2025, 6, 1), date(2026, 2, 28))
    assert pan.ward_codes == ["0428"]
    sheds = found["2"]  # a cancelled tender: planning budget stands in; ward from the address
    assert (sheds.status, sheds.contract_value, sheds.amount_paid, sheds.ward_codes) == (
        ProjectStatus.CANCELLED, 800_000, 0, ["0424"])
    assert sheds.name == "Supply and installation of Wote market sheds"
    road = found["3"]  # terminated contract; UTC evenings are the next day in Nairobi
    assert (road.status, road.start_date, road.end_date) == (
        ProjectStatus.COMPLETED, date(2024, 12, 1), date(2025, 7, 1))
    assert road.contractor == "Sample Roads Co; Mfano Plant Hire"
    assert road.ward_codes == ["0416"]  # the county's "17" is not a ward: ignored
    again = ok(import_projects(runtime, monkeypatch, OCDS_JSON, "--format", "ocds"))
    assert again.stdout.strip().endswith(": 0 created, 0 updated, 3 unchanged")


def test_oc4ids_after_ocds_finds_the_project_by_its_contracting_process(runtime, monkeypatch,
                                                                        org):
    ok(import_projects(runtime, monkeypatch, PROJECTS_CSV))  # MK-... codes are not numbers
    ok(import_projects(runtime, monkeypatch, OCDS_JSON))
    result = ok(import_projects(runtime, monkeypatch, OC4IDS_JSON))
    assert result.stdout.strip().endswith(": 2 created, 1 updated, 0 unchanged")
    found = projects(runtime)
    assert len(found) == 4 + 3 + 2
    pan = found["1"]
    assert (pan.oc4ids_id, pan.ocid, pan.name) == (
        "oc4ids-test01-MKN-0001", "ocds-test01-MKN-2025-017", "Kathonzweni water pan")
    assert pan.amount_paid == 1_470_000  # OC4IDS says nothing of payments: kept
    assert (pan.contract_value, pan.status, pan.ward_codes) == (
        2_940_000, ProjectStatus.ONGOING, ["0428"])
    houses = found["4"]
    assert (houses.oc4ids_id, houses.status, houses.contract_value, houses.department) == (
        "oc4ids-test01-MKN-0002", ProjectStatus.PLANNED, 5_500_000, "Health")
    assert houses.ward_codes == ["0426"]  # by the location's description
    ecde = found["5"]
    assert (ecde.status, ecde.department, ecde.contractor, ecde.ocid) == (
        ProjectStatus.COMPLETED, "Department of Education and ICT", "Mfano Builders Ltd", None)
    assert (ecde.start_date, ecde.end_date, ecde.ward_codes) == (
        date(2024, 2, 1), date(2024, 10, 31), ["0416"])
    again = ok(import_projects(runtime, monkeypatch, OC4IDS_JSON))
    assert again.stdout.strip().endswith(": 0 created, 0 updated, 3 unchanged")


def test_open_contracting_problems_refuse_the_whole_file(runtime, monkeypatch, org, tmp_path):
    package = json.loads(OC4IDS_JSON.read_text(encoding="utf-8"))
    package["projects"][1]["budget"]["amount"]["currency"] = "USD"
    package["projects"][2]["status"] = "finished"
    package["projects"].append({"id": "oc4ids-test01-MKN-0001", "title": "Twice"})
    path = write(tmp_path, json.dumps(package), "oc4ids.json")
    result = import_projects(runtime, monkeypatch, path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: oc4ids.json: 3 problems, nothing imported:",
        "  projects[1] (oc4ids-test01-MKN-0002): an amount in USD; this organization counts "
        "in KES (nothing is converted)",
        "  projects[2] (oc4ids-test01-MKN-0003): status 'finished' is not an OC4IDS "
        "projectStatus code",
        "  projects[3] (oc4ids-test01-MKN-0001): id oc4ids-test01-MKN-0001 is also projects[0]"]
    assert count(runtime, Project) == 0


def test_format_is_detected_or_checked(runtime, monkeypatch, org, tmp_path):
    wrong = import_projects(runtime, monkeypatch, OCDS_JSON, "--format", "oc4ids")
    assert wrong.exit_code == 1 and "file: this is not an OC4IDS package" in wrong.output
    other = import_projects(runtime, monkeypatch, write(tmp_path, '{"rows": []}', "x.json"))
    assert other.exit_code == 1 and "neither an OCDS release or record package" in other.output
    broken = import_projects(runtime, monkeypatch, write(tmp_path, '{"releases": [', "y.json"))
    assert broken.exit_code == 1 and "line 1: not JSON" in broken.output
    assert count(runtime, Project) == 0


def test_ocds_record_package_reads_compiled_releases():
    package = {"records": [{"ocid": "ocds-x-1", "compiledRelease": {
        "ocid": "ocds-x-1", "tender": {"title": "Kee dam desilting", "status": "active"},
        "contracts": [{"id": "c", "status": "pending",
                       "value": {"amount": 50_000, "currency": "KES"}}]}}]}
    [record] = read_open_contracting(package, "KES", "Africa/Nairobi")
    assert (record.name, record.ocid, record.contract_value, record.status) == (
        "Kee dam desilting", "ocds-x-1", 50_000, ProjectStatus.PLANNED)
    with pytest.raises(ImportRefused, match="a record without compiledRelease"):
        read_open_contracting({"records": [{"ocid": "ocds-x-2"}]}, "KES", "Africa/Nairobi")


def test_ocds_merge_is_by_field_and_by_id():
    old = {"tender": {"title": "A", "status": "active"},
           "awards": [{"id": "1", "status": "pending"}, {"id": "2", "status": "active"}]}
    new = {"tender": {"status": "complete"}, "awards": [{"id": "1", "status": "active"}]}
    assert merge(old, new) == {
        "tender": {"title": "A", "status": "complete"},
        "awards": [{"id": "1", "status": "active"}, {"id": "2", "status": "active"}]}


# ---- PMC members --------------------------------------------------------------------------


def seats(runtime) -> list[tuple[str, str, str, str, bool]]:
    with runtime.sessions() as db:
        rows = db.execute(select(Project.code, Contact.msisdn, PmcMember.name, PmcMember.role,
                                 PmcMember.active)
                          .join(Project, PmcMember.project_id == Project.id)
                          .join(Contact, PmcMember.contact_id == Contact.id)
                          .order_by(Project.code, Contact.msisdn)).all()
        return [tuple(r) for r in rows]


def import_pmc(runtime, monkeypatch, path: Path, *extra):
    return run(runtime, monkeypatch, "pmc", "import", path, "--org", "makueni", *extra)


def test_pmc_import_normalises_phones_and_seats_one_phone_on_two_pmcs(runtime, monkeypatch,
                                                                      org):
    ok(import_projects(runtime, monkeypatch, PROJECTS_CSV))
    result = ok(import_pmc(runtime, monkeypatch, PMC_CSV))
    assert result.stdout.strip() == ("makueni: 5 PMC members of 2 projects from makueni_pmc.csv: "
                                     "5 created, 0 updated, 0 unchanged")
    assert seats(runtime) == [
        ("MK-101", "+254712345001", "Mwikali Musyoka", PmcRole.CHAIR, True),
        ("MK-101", "+254712345002", "Kioko Mutua", PmcRole.SECRETARY, True),
        ("MK-101", "+254712345003", "Ndinda Mwende", PmcRole.MEMBER, True),
        ("MK-102", "+254712345003", "Ndinda Mwende", PmcRole.CHAIR, True),  # Mwenyekiti
        ("MK-102", "+254722345004", "Mutuku Nzioka", PmcRole.MEMBER, True),  # empty role
    ]
    with runtime.sessions() as db:
        contact = db.scalar(select(Contact).where(Contact.msisdn == "+254712345003"))
        # one contact for both seats; no consent recorded: they have not texted us yet
        assert (contact.name, contact.consent_at) == ("Ndinda Mwende", None)
    assert count(runtime, Contact) == 4
    again = ok(import_pmc(runtime, monkeypatch, PMC_CSV))
    assert again.stdout.strip().endswith("0 created, 0 updated, 5 unchanged")


def test_pmc_import_reports_bad_lines_and_imports_nothing(runtime, monkeypatch, org, tmp_path):
    ok(import_projects(runtime, monkeypatch, PROJECTS_CSV))
    text = "\n".join([
        "project_code,phone,name,role",
        "MK-101,0712345001,Good Row,member",     # 2
        "MK-999,0712345002,Unknown Project,",     # 3
        "MK-101,12345,Bad Phone,member",          # 4
        "MK-101,0712345005,,treasurer",           # 5
        "MK-101,+254712345001,Same Phone,",       # 6
        "MK-101,0712345006,First Chair,chair",    # 7
        "MK-101,0712345007,Second Chair,Chair",   # 8
    ]) + "\n"
    result = import_pmc(runtime, monkeypatch, write(tmp_path, text, "pmc.csv"))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "Error: pmc.csv: 6 problems, nothing imported:"
    body = result.output.splitlines()[1:]
    assert body[0] == "  line 3: project_code: no project MK-999 in this organization"
    assert body[1].startswith("  line 4: phone: not a ")
    assert body[2:5] == ["  line 5: name: required",
                         "  line 5: role: 'treasurer' is not one of chair, secretary, member",
                         "  line 6: +254712345001 is on MK-101 already on line 2"]
    assert body[5] == "  line 8: MK-101 has a chair already (line 7)"
    assert seats(runtime) == [] and count(runtime, Contact) == 0


def test_a_new_chair_needs_replace_which_deactivates_the_missing(runtime, monkeypatch, org,
                                                                 tmp_path):
    import_fixtures(runtime, monkeypatch)
    text = ("project_code,phone,name,role\n"
            "MK-101,0712345002,Kioko Mutua,chair\n"
            "MK-101,0712345001,Mwikali Musyoka,member\n")
    path = write(tmp_path, text, "new.csv")
    ok(import_pmc(runtime, monkeypatch, path))  # the old chair is demoted in the same file
    assert seats(runtime)[:3] == [
        ("MK-101", "+254712345001", "Mwikali Musyoka", PmcRole.MEMBER, True),
        ("MK-101", "+254712345002", "Kioko Mutua", PmcRole.CHAIR, True),
        ("MK-101", "+254712345003", "Ndinda Mwende", PmcRole.MEMBER, True)]
    other = write(tmp_path, "project_code,phone,name,role\nMK-101,0712345009,Musau,chair\n",
                  "other.csv")
    refused = import_pmc(runtime, monkeypatch, other)
    assert refused.exit_code == 1 and (
        "line 2: MK-101 has an active chair already, Kioko Mutua (import with --replace to "
        "change the PMC)") in refused.output
    result = ok(import_pmc(runtime, monkeypatch, other, "--replace"))
    assert result.stdout.strip().endswith("1 created, 0 updated, 0 unchanged, 3 deactivated")
    assert [(code, phone, active) for code, phone, _, _, active in seats(runtime)] == [
        ("MK-101", "+254712345001", False), ("MK-101", "+254712345002", False),
        ("MK-101", "+254712345003", False), ("MK-101", "+254712345009", True),
        ("MK-102", "+254712345003", True), ("MK-102", "+254722345004", True)]
    # the PMC list coming back reactivates its seats
    ok(import_pmc(runtime, monkeypatch, PMC_CSV, "--replace"))
    assert [s[4] for s in seats(runtime) if s[0] == "MK-101"] == [True, True, True, False]
