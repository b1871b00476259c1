"""Importing counties, sub-counties and wards; IEBC codes kept; safe to run twice."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.cli import main
from app.db.models import Place
from app.services import places
from app.services.organizations import organization_by_code
from tests.conftest import SHARED_DATA
from tests.factories import add_counties

HEADER = "county_code,county_name,constituency_code,constituency_name,ward_code,ward_name\n"
SMALL = HEADER + (
    "17,Makueni,86,Mbooni,0431,Tulimani\n"
    "17,Makueni,86,Mbooni,0432,Mbooni\n"
    "17,Makueni,87,Kilome,0437,Kasikeu\n"
    "29,Nandi,150,Tinderet,0734,Songhor/Soba\n"
)


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties(runtime)


def run_cli(runtime, monkeypatch, *args):
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_import_builds_the_tree_and_is_idempotent(runtime, tmp_path, monkeypatch):
    csv_file = tmp_path / "wards.csv"
    csv_file.write_text(SMALL, encoding="utf-8")
    result = run_cli(runtime, monkeypatch, "places", "import", str(csv_file), "--org", "makueni",
                     "--county", "makueni")
    assert result.exit_code == 0, result.output
    assert "6 created, 0 updated, 0 unchanged" in result.output  # 1 county, 2 sub-counties, 3 wards
    again = run_cli(runtime, monkeypatch, "places", "import", str(csv_file), "--org", "makueni",
                    "--county", "Makueni")
    assert "0 created, 0 updated, 6 unchanged" in again.output
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        ward = places.place_by_code(db, org.id, "0437")
        assert (ward.name, ward.parent.name, ward.parent.parent.name) == (
            "Kasikeu", "Kilome", "Makueni")
        nandi = organization_by_code(db, "nandi")
        assert db.scalars(select(Place).where(Place.organization_id == nandi.id)).all() == []


def test_renamed_ward_in_a_new_file_updates(runtime, tmp_path, monkeypatch):
    csv_file = tmp_path / "wards.csv"
    csv_file.write_text(SMALL, encoding="utf-8")
    run_cli(runtime, monkeypatch, "places", "import", str(csv_file), "--org", "makueni",
            "--county", "Makueni")
    csv_file.write_text(SMALL.replace("Tulimani", "Tulimani Ward"), encoding="utf-8")
    result = run_cli(runtime, monkeypatch, "places", "import", str(csv_file), "--org", "makueni",
                     "--county", "Makueni")
    assert "0 created, 1 updated, 5 unchanged" in result.output


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (SMALL, ("--org", "kisumu", "--county", "Makueni"), "no organization with code 'kisumu'"),
        (SMALL, ("--org", "makueni", "--county", "Atlantis"), "no rows for county 'Atlantis'"),
        ("county_name,ward\nMakueni,x\n", ("--org", "makueni", "--county", "Makueni"),
         "missing columns"),
    ],
)
def test_bad_imports_say_why_and_write_nothing(runtime, tmp_path, monkeypatch, content, args,
                                               message):
    csv_file = tmp_path / "wards.csv"
    csv_file.write_text(content, encoding="utf-8")
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    result = CliRunner().invoke(main, ["places", "import", str(csv_file), *args])
    assert result.exit_code == 1 and message in result.output
    with runtime.sessions() as db:
        assert db.scalars(select(Place)).all() == []


def test_the_real_iebc_file_gives_makueni_and_nandi_30_wards_each(runtime, monkeypatch):
    wards_csv = SHARED_DATA / "kenya_wards.csv"
    if not wards_csv.exists():
        pytest.skip(f"{wards_csv} is absent (reference data lives beside the checkout)")
    for county in ("Makueni", "Nandi"):
        result = run_cli(runtime, monkeypatch, "places", "import", str(wards_csv), "--org",
                         county.lower(), "--county", county)
        assert result.exit_code == 0, result.output
    with runtime.sessions() as db:
        for code in ("makueni", "nandi"):
            org = organization_by_code(db, code)
            assert len(places.wards_of(db, org.id)) == 30
