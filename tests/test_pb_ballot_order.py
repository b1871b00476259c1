"""Closing voting rewrites the cycle's ballots so nothing stored follows the order votes came in.

On PostgreSQL a heap keeps rows in arrival order (`ORDER BY ctid`, what `pg_dump` writes) and
every row keeps the id of the transaction that wrote it (`xmin`), the same as the voter's
`participations` row; the close clusters the tables on the random ballot id and rewrites the
cycle's rows in one transaction. SQLite stores the tables in key order from the start.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.db.models import Cycle, Phase, Place
from app.pb import ballot_order, ballots, cycles
from app.pb.ballots import Refusal, VoteRefused
from app.services import contacts
from tests.pb_support import add_cycle, stored_ballots
from tests.test_console_pb import post, signed_in
from tests.test_pb_cli import ok, run

VOTERS = 40  # arrival order equals key order by chance once in 40! (about 10^48) runs
prod_only = pytest.mark.parametrize("stack", ["prod"])
dev_only = pytest.mark.parametrize("stack", ["dev"])


def phone(i: int) -> str:
    return f"+2547000{i:05d}"


def register(runtime, fixture, identity: str) -> None:
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round,
                               identity, db.get(Place, fixture.ward_ids["0431"]))


def vote(runtime, fixture, identity: str, selection: dict[int, int]) -> str:
    """One voter (their own contact, as on a phone) votes; returns the ballot's id."""
    register(runtime, fixture, identity)
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        contact = contacts.ensure_contact(db, fixture.organization_id, identity)
        cast = ballots.cast_ballot(db, runtime.keyring, cycle, identity, selection, "ussd",
                                   contact.id)
        return ballots.ballot_by_receipt(db, runtime.keyring, fixture.organization_id,
                                         cast.receipt).id


def vote_many(runtime, fixture) -> list[str]:
    """VOTERS ballots, then the first voter changes theirs: ids in the order rows were written."""
    ids = [vote(runtime, fixture, phone(i), {1 + i % 4: 1, 1 + (i + 1) % 4: 1})
           for i in range(VOTERS)]
    assert vote(runtime, fixture, phone(0), {4: 1}) == ids[0]  # same ballot, a new row version
    return ids[1:] + ids[:1]


def column(runtime, sql: str) -> list:
    with runtime.db.connect() as connection:
        return [row[0] for row in connection.execute(text(sql))]


def ballot_order_on_disk(runtime) -> list[str]:
    return column(runtime, "SELECT id FROM ballots ORDER BY ctid")


def choice_order_on_disk(runtime) -> list[str]:
    return column(runtime, "SELECT ballot_id || ':' || proposal_id FROM ballot_choices "
                           "ORDER BY ctid")


def linked_by_xmin(runtime) -> int:
    """Ballots whose writing transaction also wrote a participation row (which names a contact)."""
    return column(runtime, "SELECT count(*) FROM ballots b JOIN participations p "
                           "ON b.xmin = p.xmin")[0]


def close(runtime, fixture) -> str | None:
    with runtime.sessions.begin() as db:
        return cycles.change_phase(db, db.get(Cycle, fixture.cycle_id), Phase.CLOSED)


@prod_only
def test_closing_voting_rewrites_postgres_ballots_out_of_arrival_order(runtime):
    fixture = add_cycle(runtime)
    arrival = vote_many(runtime, fixture)
    counted = sorted(stored_ballots(runtime, fixture.cycle_id))
    # What a dump taken now gives away: rows in arrival order, each first ballot written by
    # the transaction that wrote its voter's participation.
    assert ballot_order_on_disk(runtime) == arrival != sorted(arrival)
    assert linked_by_xmin(runtime) == VOTERS - 1  # the changed ballot has a later xmin

    assert close(runtime, fixture) is None

    assert ballot_order_on_disk(runtime) == column(runtime, "SELECT id FROM ballots ORDER BY id")
    assert ballot_order_on_disk(runtime) != arrival
    assert choice_order_on_disk(runtime) == column(
        runtime, "SELECT ballot_id || ':' || proposal_id FROM ballot_choices "
                 "ORDER BY ballot_id, proposal_id")
    assert linked_by_xmin(runtime) == 0
    # every ballot and choice of the cycle now carries one transaction id: the close's
    assert column(runtime, "SELECT count(DISTINCT xmin::text) FROM ballots") == [1]
    assert column(runtime, "SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM ballots "
                           "UNION ALL SELECT xmin FROM ballot_choices) rows") == [1]
    assert sorted(stored_ballots(runtime, fixture.cycle_id)) == counted  # values untouched
    with runtime.sessions() as db:
        assert db.get(Cycle, fixture.cycle_id).phase == Phase.CLOSED


@dev_only
def test_sqlite_keeps_ballot_tables_in_key_order_from_the_start(runtime):
    fixture = add_cycle(runtime)
    arrival = vote_many(runtime, fixture)
    with runtime.db.connect() as connection:
        for table in ("ballots", "ballot_choices"):
            sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"),
                                     {"t": table}).scalar_one()
            assert sql.rstrip().upper().endswith("WITHOUT ROWID"), sql
        with pytest.raises(OperationalError):
            connection.execute(text("SELECT rowid FROM ballots"))
    # a scan of the table itself (no index) is in key order, before any close
    stored = column(runtime, "SELECT id FROM ballots NOT INDEXED")
    assert stored == sorted(arrival) != arrival
    with runtime.sessions.begin() as db:
        assert ballot_order.reorder_ballots(db, [fixture.cycle_id]) is None  # nothing to do
    assert close(runtime, fixture) is None


def test_console_and_cli_close_through_one_rewrite(client, runtime, monkeypatch, stack):
    calls = []
    real = cycles.reorder_ballots
    monkeypatch.setattr(cycles, "reorder_ballots",
                        lambda db, ids: calls.append(list(ids)) or real(db, ids))
    first, second = add_cycle(runtime), add_cycle(runtime, ward="0437", with_counties=False)
    vote(runtime, first, phone(1), {1: 1})
    signed_in(client, runtime, "officer")
    page = f"/console/orgs/makueni/cycles/{first.cycle_id}"
    assert post(client, f"{page}/phase", {"to": "closed"}, page=page).status_code == 302
    assert post(client, f"{page}/phase", {"to": "voting"}, page=page).status_code == 302
    assert ok(run(runtime, monkeypatch, "pb", "close", second.cycle_id)).stdout == (
        f"cycle {second.cycle_id}: closed\n")
    assert calls == [[first.cycle_id], [second.cycle_id]]  # reopening rewrites nothing
    if stack == "prod":
        assert linked_by_xmin(runtime) == 0


@prod_only
def test_a_busy_ballot_table_does_not_keep_voting_open(runtime, monkeypatch):
    fixture = add_cycle(runtime)
    arrival = vote_many(runtime, fixture)
    monkeypatch.setattr(ballot_order, "LOCK_WAIT", "100ms")
    with runtime.db.connect() as backup:  # e.g. a pg_dump, reading the table all along
        backup.execute(text("SELECT count(*) FROM ballots"))
        result = run(runtime, monkeypatch, "pb", "close", fixture.cycle_id)
        assert ok(result).stdout == f"cycle {fixture.cycle_id}: closed\n"
        assert ("ballots were not rewritten: the ballot tables stayed in use for more than "
                "100ms") in result.stderr
        assert f"baraza pb reorder {fixture.cycle_id}" in result.stderr
        refused = run(runtime, monkeypatch, "pb", "reorder", fixture.cycle_id)
        assert refused.exit_code == 1 and "ballots not rewritten" in refused.output
        backup.rollback()
    assert ballot_order_on_disk(runtime) == arrival  # the close stood, the rewrite did not
    with runtime.sessions() as db:
        assert db.get(Cycle, fixture.cycle_id).phase == Phase.CLOSED

    again = ok(run(runtime, monkeypatch, "pb", "reorder", fixture.cycle_id))
    assert again.stdout == (f"cycles {fixture.cycle_id}: {VOTERS} ballots rewritten; ballot "
                            f"tables in random-id order\n")
    assert ballot_order_on_disk(runtime) == sorted(arrival)
    assert linked_by_xmin(runtime) == 0


@prod_only
def test_a_vote_that_waited_for_the_close_is_refused(runtime):
    """A vote whose transaction saw voting open but reached the ballot tables only once the
    close held them is refused, rather than written after the rewrite (and after the close)."""
    fixture = add_cycle(runtime)
    vote(runtime, fixture, phone(1), {1: 1})
    late = phone(2)
    register(runtime, fixture, late)
    outcome: list[object] = []

    def late_vote() -> None:
        try:
            with runtime.sessions.begin() as db:
                cycle = db.get(Cycle, fixture.cycle_id)
                contact = contacts.ensure_contact(db, fixture.organization_id, late)
                outcome.append(ballots.cast_ballot(db, runtime.keyring, cycle, late, {2: 1},
                                                   "ussd", contact.id))
        except VoteRefused as refused:
            outcome.append(refused.refusal)

    with runtime.sessions() as closing:
        assert cycles.change_phase(closing, closing.get(Cycle, fixture.cycle_id),
                                   Phase.CLOSED) is None
        voter = threading.Thread(target=late_vote)
        voter.start()
        time.sleep(0.5)  # the vote has read the open cycle and waits for the ballot tables
        assert not outcome
        closing.commit()
    voter.join(timeout=30)
    assert outcome == [Refusal.NOT_OPEN]
    assert len(stored_ballots(runtime, fixture.cycle_id)) == 1 and linked_by_xmin(runtime) == 0


def test_reorder_is_for_closed_cycles(runtime, monkeypatch, stack):
    fixture = add_cycle(runtime)
    vote(runtime, fixture, phone(1), {1: 1})
    refused = run(runtime, monkeypatch, "pb", "reorder", fixture.cycle_id)
    assert refused.exit_code == 1
    assert refused.output == (f"Error: cycle {fixture.cycle_id}: voting has not closed (phase "
                              f"voting); closing it rewrites its ballots\n")
    assert run(runtime, monkeypatch, "pb", "reorder", 999).output == "Error: no cycle 999\n"
    close(runtime, fixture)
    done = ok(run(runtime, monkeypatch, "pb", "reorder", fixture.cycle_id)).stdout
    if stack == "dev":
        assert done.startswith("nothing to do: this database keeps ballots in the order")
    else:
        assert done.startswith(f"cycles {fixture.cycle_id}: 1 ballots rewritten")
