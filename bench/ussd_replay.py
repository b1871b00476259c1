"""Every ballot of Świecie 2023 (2,553, 22 projects) replayed through the USSD endpoint.

Each ballot is a first-time voter with their own phone number dialling the code: AT's exact
form (sessionId, serviceCode, phoneNumber, networkCode, `text` growing with `*`) posted to
/at/ussd through the Flask test client, walking language, main menu, ward registration, one
toggle per chosen project, Done, Confirm, and declining the profile questions. The driver
checks every screen for what it expects, so a changed flow stops the bench instead of casting
wrong ballots. Then the cycle is counted with compute_results(..., "mes") and its winners are
compared with pabutools' MES+add1 on the file, and with the file's `selected` column.

The cycle is k-approval with k = the number of projects, i.e. approval without a cost limit:
12 of Świecie's real ballots cost more than the budget, which an approval cycle (the budget as
the ballot's limit) would refuse. The rules count approvals either way.

SQLite on a temporary file, in-process session store (no Redis). Prints, and exits non-zero
when the winners differ: a benchmark that silently disagrees is useless. The file is read from
../shared/data, never copied here.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from flask import Flask

from app.channels.phone import normalise_msisdn
from app.db import migrate
from app.db.models import Cycle, Phase, ProposalStatus
from app.db.session import make_engine
from app.pb import cycles, proposals
from app.pb.pabulib import PabulibFile, parse_pabulib
from app.pb.results import compute_results
from app.runtime import Runtime, build_runtime
from app.services import places
from app.services.organizations import create_organization
from app.settings import Settings
from app.web.factory import create_app
from bench.mes import DATA, reference_run

FILE = DATA / "Poland_Swiecie_2023.pb"
USSD_CODE = "*483*9#"
NETWORK = "26001"  # a Polish mobile network code; Baraza does not read it
WARD = {"county_code": "0414", "county_name": "Gmina Swiecie", "constituency_code": "041401",
        "constituency_name": "Swiecie", "ward_code": "04140101", "ward_name": "Swiecie"}
FIRST_PHONE = 48_500_000_000  # +48 500 000 000 onwards: Polish mobile numbers


class FlowChanged(AssertionError):
    """A screen was not what the driver expected: the flow changed, fix the driver."""


def expect(screen: str, *markers: str) -> str:
    for marker in markers:
        if marker not in screen:
            raise FlowChanged(f"expected {marker!r} in screen {screen!r}")
    return screen


def build(directory: Path, election: PabulibFile) -> tuple[Flask, Runtime, int, dict[str, int]]:
    """The app, its runtime, the cycle's id and project_id -> proposal code."""
    url = f"sqlite:///{directory / 'bench.sqlite3'}"
    migrate.upgrade(make_engine(url))
    runtime = build_runtime(Settings(database_url=url, redis_url=None))
    k = len(election.projects)
    with runtime.sessions.begin() as db:
        org = create_organization(db, code="swiecie", name="Gmina Swiecie", country="PL",
                                  currency="PLN", languages=["en"], ussd_codes=[USSD_CODE],
                                  timezone="Europe/Warsaw")
        places.import_kenya_wards(db, org.id, [WARD], WARD["county_name"])
        top = places.place_by_code(db, org.id, WARD["county_code"], kind="county")
        cycle = cycles.create_cycle(db, organization_id=org.id, name="Swiecie 2023",
                                    round_name="2023", place=top, budget=int(election.budget),
                                    ballot_type="k_approval", max_choices=k)
        codes = {}
        for project in election.projects:
            title = (project.name or project.project_id)[:proposals.MAX_TITLE]
            proposal = proposals.add_proposal(db, cycle, title=title, cost=int(project.cost),
                                              external_id=project.project_id,
                                              status=ProposalStatus.ACCEPTED)
            codes[project.project_id] = proposal.code
        cycles.move(cycle, Phase.VOTING)
        cycle_id = cycle.id
    return create_app(runtime=runtime), runtime, cycle_id, codes


class Handset:
    """One voter's phone: AT's form, `text` growing by `*` within a session."""

    def __init__(self, client, msisdn: str, session_id: str) -> None:
        self.client, self.msisdn, self.session_id, self.text = client, msisdn, session_id, None
        self.hops = 0

    def press(self, key: str | None = None) -> str:
        """The dial (no key), then one input per hop."""
        if key is None:
            self.text = ""
        else:
            self.text = f"{self.text}*{key}" if self.text else key
        response = self.client.post("/at/ussd", data={
            "sessionId": self.session_id, "serviceCode": USSD_CODE,
            "phoneNumber": self.msisdn, "networkCode": NETWORK, "text": self.text})
        self.hops += 1
        if response.status_code != 200:
            raise FlowChanged(f"HTTP {response.status_code} on {self.text!r}")
        return response.get_data(as_text=True)


def vote(client, msisdn: str, session_id: str, codes: list[int], k: int) -> int:
    """One full first-time session casting `codes`; the number of hops it took."""
    phone = Handset(client, msisdn, session_id)
    expect(phone.press(), "CON Karibu! Welcome!", "1. English")
    expect(phone.press("1"), "CON Gmina Swiecie\n", "1. Vote on the budget")
    expect(phone.press("1"), "CON Choose your ward\n", f"1. {WARD['ward_name']}")
    expect(phone.press("1"), f"CON Vote in {WARD['ward_name']}?", "1. Yes")
    expect(phone.press("1"), f"CON Choices left: {k} of {k}\n", "99. Done")
    for n, code in enumerate(codes, 1):
        expect(phone.press(str(code)), f"CON Choices left: {k - n} of {k}\n99. Done\n")
    summary = expect(phone.press("99"), "CON You chose ",
                     f" ({len(codes)} of {k})\n1. Confirm\n2. Change")
    listed = summary.split("\n")[0].removeprefix("CON You chose ").rsplit(" (", 1)[0]
    wanted = [str(c) for c in sorted(codes)]
    shown = [c for c in listed.split(", ") if c.isdigit()]
    if shown != wanted[:len(shown)] or not shown:
        raise FlowChanged(f"summary {summary!r} for codes {wanted}")
    consent = expect(phone.press("1"), "CON Vote recorded. Receipt: ", "2. No")
    receipt = consent.split("\n")[0].rsplit(" ", 1)[-1]
    expect(phone.press("2"), f"END Thank you. Your vote is recorded. Receipt: {receipt}")
    return phone.hops


def main() -> None:
    if not FILE.exists():
        print(f"ussd_replay: skipped, {FILE} is absent")
        return
    election = parse_pabulib(FILE.read_text(encoding="utf-8"))
    k = len(election.projects)
    phones = [f"+{FIRST_PHONE + i}" for i in range(len(election.votes))]
    for phone in phones:  # what the gateway will read: must be the number itself
        if normalise_msisdn(phone, "PL") != phone:
            raise FlowChanged(f"{phone} is not a valid Polish number")
    with tempfile.TemporaryDirectory() as directory:
        app, runtime, cycle_id, codes = build(Path(directory), election)
        client = app.test_client()
        hops = 0
        start = time.perf_counter()
        for i, (ballot, phone) in enumerate(zip(election.votes, phones, strict=True)):
            hops += vote(client, phone, f"ATUid_swiecie_{i}", [codes[p] for p in ballot.vote], k)
        elapsed = time.perf_counter() - start
        with runtime.sessions() as db:
            cycle = db.get(Cycle, cycle_id)
            results = compute_results(db, cycle, "mes")
            external = {r.code: r.external_id for r in results.proposals}
            support = {r.external_id: r.support for r in results.proposals}
        runtime.db.dispose()
    ours = [external[code] for code in results.winners]
    counted = Counter(p for ballot in election.votes for p in ballot.vote)
    same_support = all(support[p.project_id] == counted[p.project_id]
                       for p in election.projects)
    start = time.perf_counter()
    theirs = reference_run(FILE)()
    reference_seconds = time.perf_counter() - start
    selected = {p.project_id for p in election.projects if p.selected}
    same_reference, same_selected = set(ours) == set(theirs), set(ours) == selected
    sessions = len(election.votes)

    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    print(f"ussd_replay: Swiecie 2023, {sessions} ballots replayed as first-time USSD sessions"
          f" ({k}-approval over {k} projects), SQLite, in-process session store")
    print(f"  hops sent: {hops} in {elapsed:.1f} s: {sessions / elapsed:.1f} sessions/s,"
          f" {elapsed / hops * 1e3:.2f} ms per hop")
    print(f"  ballots counted: {results.ballots}, support per project equals the file's:"
          f" {yes(same_support)}")
    print(f"  MES+add1 winners ({len(ours)}, {results.total_cost} of {results.budget} PLN):"
          f" {' '.join(ours)}")
    print(f"  equal to pabutools ({reference_seconds:.1f} s): {yes(same_reference)}"
          f"{'' if ours == theirs else ' (funding order differs)'}")
    print(f"  equal to the file's `selected`: {yes(same_selected)}")
    if not (same_support and same_reference and same_selected and results.ballots == sessions):
        sys.exit(1)
