"""Test data for project monitoring, made through the product's own services and CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from app.runtime import Runtime
from app.services import places
from app.services.organizations import organization_by_code
from tests.factories import add_counties

DATA = Path(__file__).parent / "data"
PROJECTS_CSV = DATA / "makueni_projects.csv"
PMC_CSV = DATA / "makueni_pmc.csv"
OCDS_JSON = DATA / "makueni_ocds_release_package.json"
OC4IDS_JSON = DATA / "makueni_oc4ids_project_package.json"


def _ward(constituency: tuple[str, str], code: str, name: str) -> dict[str, str]:
    return {"county_code": "17", "county_name": "Makueni", "constituency_code": constituency[0],
            "constituency_name": constituency[1], "ward_code": code, "ward_name": name}


MBOONI, MAKUENI, KIBWEZI_EAST = ("83", "Mbooni"), ("86", "Makueni"), ("88", "Kibwezi East")
WARDS = [  # real Makueni wards, as the IEBC file has them
    _ward(MBOONI, "0416", "Kalawa"),
    _ward(MAKUENI, "0424", "Wote"),
    _ward(MAKUENI, "0426", "Mavindini"),
    _ward(MAKUENI, "0428", "Kathonzweni"),
    _ward(KIBWEZI_EAST, "0437", "Masongaleni"),
]


def add_makueni(runtime: Runtime) -> int:
    """Makueni and Nandi; Makueni with the wards above. Returns Makueni's id."""
    add_counties(runtime)
    with runtime.sessions.begin() as db:
        organization = organization_by_code(db, "makueni")
        places.import_kenya_wards(db, organization.id, WARDS, "Makueni")
        return organization.id


def run(runtime: Runtime, monkeypatch, *args):
    """`baraza ARGS` against this runtime's database."""
    monkeypatch.setattr("app.cli.Context.runtime", property(lambda self: runtime))
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def import_fixtures(runtime: Runtime, monkeypatch) -> None:
    """The projects CSV and the PMC CSV of tests/data, into Makueni."""
    ok(run(runtime, monkeypatch, "projects", "import", PROJECTS_CSV, "--org", "makueni"))
    ok(run(runtime, monkeypatch, "pmc", "import", PMC_CSV, "--org", "makueni"))
