"""Rewriting a cycle's ballots once voting closes, so nothing stored follows their arrival.

Ballot rows hold no phone, no ID and no time, and their ids are random; but PostgreSQL keeps
two traces of when each row was written, and both can be lined up with data that names the
voter:

- physical order: a heap appends rows (and new versions of changed rows) as they come, and
  `pg_dump`, like any sequential scan, returns them in that order (`ORDER BY ctid`);
- `xmin`, the id of the transaction that wrote each row version, readable by any SQL user. A
  vote's transaction also writes rows that name the voter (their `participations` row, the
  receipt SMS in the outbox), so until the ballot is rewritten a join on `xmin` names its voter.

`reorder_ballots`, called by `cycles.change_phase` in the transaction that closes voting (and by
`baraza pb reorder`), therefore:

1. locks `ballots` then `ballot_choices` (ACCESS EXCLUSIVE, waiting at most LOCK_WAIT). Votes
   in flight finish first and are covered; a vote that reaches the ballot tables after the lock
   re-reads the phase once it gets them, finds the cycle closed and is refused
   (`ballots.cast_ballot`), so no ballot of the cycle is written after the rewrite;
2. rewrites every ballot and choice of the cycles (a no-op UPDATE): all of them now carry this
   one transaction's id;
3. CLUSTERs both tables on their primary keys, i.e. on the random ballot id: the heap is
   rewritten in key order, which says nothing of arrival. CLUSTER rewrites whole tables, so the
   ballots of every cycle are put in key order, the others' `xmin` left as it was.

Why in the closing transaction: CLUSTER with a table name may run inside a transaction block
(only the bare `CLUSTER` of every table may not), and there the close and the rewrite succeed
or fail together with one call. The price is the lock: from step 1 to the commit, reads and
writes of ballots in every cycle wait. On a small (2-core) server step 2 took ~10 s for a cycle
of 100,000 ballots (200,000 choices) and step 3 ~6 s per 100,000 ballots stored in all cycles.
A lock that cannot be had within LOCK_WAIT (a long `pg_dump` holds one for its whole run) must
not keep voting open past its deadline, nor queue every voter behind it: the rewrite is then
rolled back to its savepoint, the close itself still commits, and the caller is told to run
`baraza pb reorder` later.

Left for (auto)vacuum: CLUSTER inside the transaction that made step 2's new row versions keeps
the previous versions, in key order too, with their old `xmin`. No SQL query and no dump shows
them, only the raw pages (`pageinspect`, the data files); autovacuum drops them soon after,
since step 2 left as many dead versions as live ones. `baraza pb reorder` runs VACUUM at once.

SQLite needs nothing: `ballots` and `ballot_choices` are WITHOUT ROWID tables, stored as a
B-tree on their random primary key, so every scan (and `.dump`) is in key order whatever the
arrival order, an UPDATE rewrites a row in place, and rows carry no transaction id. (Its WAL
file, like PostgreSQL's, holds recent writes in order; it is the development stack.)
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.models import Ballot, BallotChoice

LOCK_WAIT = "2s"  # PostgreSQL's lock_timeout while taking the ballot tables
# Locked and clustered in this order, the order votes use them in: ballots, then choices.
TABLES = (Ballot.__table__, BallotChoice.__table__)
_BUSY = {"55P03", "40P01"}  # lock_not_available, deadlock_detected
_NOT_OWNER = "42501"  # insufficient_privilege: CLUSTER needs the tables' owner


class ReorderError(Exception):
    """The ballot tables could not be rewritten; nothing of the rewrite was kept, and the
    transaction goes on. The message says why."""


def needs_reorder(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def reorder_ballots(db: Session, cycle_ids: Sequence[int]) -> int | None:
    """Rewrite these cycles' ballots as the module docstring says, in `db`'s transaction.

    Returns how many ballots of these cycles were rewritten, or None where nothing is needed
    (SQLite). Raises ReorderError when the tables are busy beyond LOCK_WAIT or may not be
    clustered by this database user.
    """
    if not needs_reorder(db):
        return None
    db.flush()  # a phase change goes first, outside the savepoint
    previous = db.execute(text("SHOW lock_timeout")).scalar_one()
    ballots, choices = TABLES
    in_cycles = ballots.c.cycle_id.in_(list(cycle_ids))
    try:
        with db.begin_nested():
            _set_lock_timeout(db, LOCK_WAIT)
            db.execute(text(f"LOCK TABLE {ballots.name}, {choices.name} IN ACCESS EXCLUSIVE MODE"))
            _set_lock_timeout(db, previous)
            rewritten = db.execute(update(ballots).where(in_cycles)
                                   .values(revision=ballots.c.revision)).rowcount
            db.execute(update(choices)
                       .where(choices.c.ballot_id.in_(select(ballots.c.id).where(in_cycles)))
                       .values(points=choices.c.points))
            for table in TABLES:
                db.execute(text(f"CLUSTER {table.name} USING {table.primary_key.name}"))
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if state in _BUSY:
            raise ReorderError(f"the ballot tables stayed in use for more than {LOCK_WAIT} "
                               f"(a backup or a long query?)") from exc
        if state == _NOT_OWNER:
            raise ReorderError("the database user does not own the ballot tables, and only "
                               "their owner may CLUSTER them") from exc
        raise
    return rewritten


def vacuum_ballots(engine: Engine) -> None:
    """Drop the row versions a rewrite left behind (VACUUM runs outside any transaction)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM {', '.join(t.name for t in TABLES)}"))


def _set_lock_timeout(db: Session, value: str) -> None:
    # SET LOCAL takes no bind parameters; set_config(..., true) is the same, parameterised.
    db.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": value})
