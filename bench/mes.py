"""MES with the add1 completion on Amsterdam 2020 (8,520 ballots, 85 projects): pabutools vs ours.

Both count the same file in the same process, interleaved (bench/timing.py). pabutools is the
reference: the winners must be the same. Parsing is left out of both timings; each side gets
the election in its own form first. The file is read from ../shared/data, never copied here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.pb.pabulib import parse_pabulib, to_election
from app.pb.rules import method_of_equal_shares
from bench.timing import interleaved

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pabulib"
FILE = DATA / "Netherlands_Amsterdam_252.pb"
ROUNDS = 3  # pabutools takes about a minute a run


def reference_run(path: Path) -> Callable[[], list[str]]:
    """pabutools' MES + add1 on its own parse of the file (imported here only: GPL, bench-only)."""
    from pabutools.election import Cost_Sat
    from pabutools.election import parse_pabulib as reference_parse
    from pabutools.rules import method_of_equal_shares as reference_mes

    instance, profile = reference_parse(str(path))

    def run() -> list[str]:
        outcome = reference_mes(instance, profile, sat_class=Cost_Sat, voter_budget_increment=1)
        return [project.name for project in outcome]

    return run


def main() -> None:
    if not FILE.exists():
        print(f"mes: skipped, {FILE} is absent")
        return
    election = to_election(parse_pabulib(FILE.read_text(encoding="utf-8")))
    reference = reference_run(FILE)
    results: dict[str, list[str]] = {}

    def theirs() -> None:
        results["pabutools"] = reference()

    def ours() -> None:
        results["baraza"] = list(method_of_equal_shares(election, "add1").winners)

    base, subject = interleaved(theirs, ours, ROUNDS)
    same = "yes" if results["pabutools"] == results["baraza"] else "NO"
    print(f"MES+add1 Amsterdam ({len(election.ballots)} ballots, {len(election.projects)} projects,"
          f" median of {ROUNDS}): pabutools {base:.2f} s, Baraza {subject:.3f} s,"
          f" {base / subject:.1f}x faster, same winners: {same}")
