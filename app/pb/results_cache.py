"""Counted results kept in memory, counted again as soon as anything they count changes.

Counting a big cycle by MES with add1 takes seconds, and officers reload the results page
(and compare rules) while votes come in. Each cache keeps, per (cycle id, rule), the last
results and the fingerprint of what they counted; a view whose fingerprint differs counts again
and replaces the entry. At most `size` entries, the least recently viewed dropped first.

The fingerprint is what the count reads, summarised cheaply:
- the cycle's budget and ballot type (and creation time, should a deleted cycle's id be used
  again), and every proposal's id, code, external id, title, cost and status (loaded with
  the cycle: a few dozen rows);
- the number of the cycle's ballots and the sum of their `revision`s: one aggregate query over
  the cycle's ballot rows, nothing sent back but two numbers. Not for a published cycle, whose
  ballots are final (`cast_ballot` and paper ballots refuse it; proposals are fixed once voting
  opens), so the public page asks nothing more of the database and counts a cycle once, when
  it is first viewed published.

Why that sum covers every change of a ballot or its choices: ballots are only written by
`ballots.cast_ballot` and `paper.import_paper_ballots`, which insert a ballot with revision 1 or
replace its choices and add 1 to its revision, in the same transaction. So the sum counts
ballot writes and grows with each one; nothing deletes a ballot (that would change the count).
Rewriting ballots when voting closes (`ballot_order`) changes no value. Ballots carry no time
and should not; a counter on the cycle row, bumped by every vote, would do as well but make a
cycle's voters wait on that row one after another, and need a migration.

The fingerprint is read before counting: a ballot committed between the two is then counted
under the older fingerprint, and the next view counts again. Read after, the entry would claim
a ballot it did not count.

One cache per Flask app (console and public page each have theirs), per process; counted
results are immutable values, shared by the threads of a process under a lock, which is not
held while counting.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, MutableMapping
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Ballot, Cycle, Phase
from app.pb.results import CycleResults, compute_results


class ResultsCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, str], tuple[Hashable, CycleResults]] = \
            OrderedDict()
        self._lock = Lock()

    def results(self, db: Session, cycle: Cycle, rule: str | None = None) -> CycleResults:
        """The cycle's results by `rule` (default: the cycle's), counted only if need be."""
        key = (cycle.id, rule or cycle.rule)
        mark = fingerprint(db, cycle)  # before counting: see the module docstring
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == mark:
                self._entries.move_to_end(key)
                return entry[1]
        counted = compute_results(db, cycle, key[1])
        with self._lock:
            self._entries[key] = (mark, counted)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return counted


def fingerprint(db: Session, cycle: Cycle) -> Hashable:
    """Changes whenever a ballot, a choice, a proposal or the budget of the cycle does."""
    if cycle.phase == Phase.PUBLISHED:
        ballots = None  # final: no ballot of a published cycle can be written any more
    else:
        ballots = tuple(db.execute(
            select(func.count(), func.coalesce(func.sum(Ballot.revision), 0))
            .where(Ballot.cycle_id == cycle.id)).one())
    proposals = tuple((p.id, p.code, p.external_id, p.title, p.cost, str(p.status))
                      for p in cycle.proposals)
    return cycle.created_at, cycle.budget, str(cycle.ballot_type), ballots, proposals


def cache_in(extensions: MutableMapping[str, object], name: str, size: int) -> ResultsCache:
    """The cache called `name` in a Flask app's `extensions`, made on first use."""
    cache = extensions.get(name)
    if cache is None:
        cache = extensions.setdefault(name, ResultsCache(size))
    assert isinstance(cache, ResultsCache)
    return cache
