"""MES+add1 on small wards with large budgets: stepping the share by 1 vs jumping (share_steps).

add1 raises every voter's share by one unit of currency per run. With 50 voters and KES 10
million that can be tens of thousands of runs; `app.pb.share_steps` skips the runs that fund
the same. The baseline is the same code with the jump switched off, so the ratio is what the
jump saves. The wards are generated from a fixed seed (invented, not real votes): 12
proposals costing 5-50% of the envelope, some much more popular than others.
"""

from __future__ import annotations

import random

from app.pb import rules
from app.pb.election import Ballot, Election, Project
from bench.timing import interleaved

WARDS = ((50, 10_000_000), (200, 5_000_000), (2_000, 50_000_000))  # voters, budget in KES
ROUNDS = 1  # stepping takes up to a minute; one interleaved round shows a ratio this large


def generated_ward(voters: int, budget: int, proposals: int = 12) -> Election:
    rng = random.Random(voters)
    ids = [f"{i:06d}" for i in range(1, proposals + 1)]
    popularity = [rng.random() ** 2 for _ in ids]
    ballots = []
    for _ in range(voters):
        chosen = tuple(i for i, p in zip(ids, popularity, strict=True)
                       if rng.random() < 0.6 * p + 0.05)
        if chosen:
            ballots.append(Ballot(chosen))
    return Election(budget, tuple(Project(i, rng.randrange(budget // 20, budget // 2, 1000))
                                  for i in ids), tuple(ballots))


def compare(voters: int, budget: int) -> bool:
    """Print one ward's timings; True when both ways give the same outcome."""
    election = generated_ward(voters, budget)
    outcomes = {}

    def stepping() -> None:
        saved, rules.JUMP_AFTER_REPEATS = rules.JUMP_AFTER_REPEATS, 10**9
        try:
            outcomes["stepping"] = rules.method_of_equal_shares(election)
        finally:
            rules.JUMP_AFTER_REPEATS = saved

    def jumping() -> None:
        outcomes["jumping"] = rules.method_of_equal_shares(election)

    base, subject = interleaved(stepping, jumping, ROUNDS)
    same = outcomes["stepping"] == outcomes["jumping"]
    print(f"MES+add1 on {len(election.ballots)} voters, KES {budget:,} (median of {ROUNDS}):"
          f" stepping by 1 {base:.3f} s, jumping {subject:.4f} s, {base / subject:.0f}x"
          f" faster, same outcome: {'yes' if same else 'NO'}")
    return same


def main() -> None:
    if not all([compare(voters, budget) for voters, budget in WARDS]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
