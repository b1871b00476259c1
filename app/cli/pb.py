"""`baraza pb`: participatory-budgeting cycles from the command line.

    baraza pb import FILE.pb --org CODE --place PLACE [--with-votes] [--name N] [--round R]
    baraza pb export CYCLE [-o FILE.pb]
    baraza pb open CYCLE | baraza pb close CYCLE
    baraza pb reorder CYCLE...
    baraza pb show CYCLE [--json]
    baraza pb results CYCLE [--rule greedy|mes] [--json]

CYCLE is the cycle's number, as `pb import` prints it. PLACE is the place's source code (IEBC
for Kenya: county "17", sub-county "86", ward "0431"); where two kinds of place share a code,
say which with `ward:0431`, `subcounty:86`, `county:17`. How a file maps to a cycle is told in
`app.pb.pabulib_import`.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli.lookups import organization_named
from app.db.models import Ballot, BallotChoice, BallotType, Cycle, Organization, Phase, Place
from app.pb import ballot_order, cycles
from app.pb.election import Number
from app.pb.pabulib import PabulibError, format_pabulib, parse_pabulib
from app.pb.pabulib_import import PabulibImportError, export_pabulib, import_pabulib
from app.pb.paper import PaperBallotError
from app.pb.results import RULES, compute_results


@click.group("pb")
def group() -> None:
    """Participatory budgeting: Pabulib files, phases, results."""


def _cycle(db: Session, number: int) -> Cycle:
    cycle = db.get(Cycle, number)
    if cycle is None:
        raise click.ClickException(f"no cycle {number}")
    return cycle


def _place(db: Session, organization: Organization, code: str) -> Place:
    kind, _, bare = code.strip().rpartition(":")
    query = select(Place).where(Place.organization_id == organization.id,
                                Place.code == bare.strip())
    if kind:
        query = query.where(Place.kind == kind.strip().lower())
    found = db.scalars(query.order_by(Place.kind)).all()
    if not found:
        raise click.ClickException(f"no place with code {code!r} in {organization.code}")
    if len(found) > 1:
        kinds = ", ".join(f"{p.kind}:{p.code} ({p.name})" for p in found)
        raise click.ClickException(f"code {code!r} names more than one place; say which: {kinds}")
    return found[0]


def _number(value: Number) -> int | float:
    return value if isinstance(value, int) else float(Fraction(value))


@group.command("import")
@click.argument("pb_file", metavar="FILE.pb",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="organization code, e.g. makueni")
@click.option("--place", "place_code", required=True,
              help="the place's code, e.g. ward 0431 (or ward:0431)")
@click.option("--with-votes", is_flag=True, help="also enter the file's ballots as paper ballots")
@click.option("--name", default=None, help="the cycle's name (default: META description)")
@click.option("--round", "round_name", default=None,
              help="the cycle's round (default: META instance, else the file's year)")
@click.pass_obj
def import_(obj, pb_file: Path, org_code: str, place_code: str, with_votes: bool,
            name: str | None, round_name: str | None) -> None:
    """Create a cycle with the proposals (and with --with-votes the ballots) of a .pb file."""
    try:
        text = pb_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{pb_file}: not UTF-8 text ({exc.reason})") from exc
    try:
        pb = parse_pabulib(text)
    except PabulibError as exc:
        raise click.ClickException(f"{pb_file}: {exc}") from exc
    runtime = obj.runtime
    with runtime.sessions.begin() as db:
        organization = organization_named(db, org_code)
        place = _place(db, organization, place_code)
        try:
            imported = import_pabulib(db, runtime.keyring, pb, organization=organization,
                                      place=place, with_votes=with_votes, name=name,
                                      round_name=round_name)
        except (PabulibImportError, PaperBallotError) as exc:
            raise click.ClickException(f"{pb_file}: {exc}") from exc
        cycle = db.get(Cycle, imported.cycle_id)
        line = (f"cycle {cycle.id}: {cycle.name!r}, round {cycle.round}, at {place.name}: "
                f"{len(imported.plan.proposals)} proposals")
        if imported.ballots is not None:
            line += f", {imported.ballots.counted} paper ballots ({imported.ballots})"
        line += f"; phase {cycle.phase}"
    for warning in imported.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not with_votes and pb.votes:
        click.echo(f"note: the file's {len(pb.votes)} ballots were not entered "
                   f"(--with-votes enters them)", err=True)
    click.echo(line)


@group.command("export")
@click.argument("cycle_id", metavar="CYCLE", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to write (default: standard output)")
@click.pass_obj
def export(obj, cycle_id: int, output: Path | None) -> None:
    """Write a cycle, its accepted proposals and its ballots as a Pabulib .pb file."""
    with obj.runtime.sessions() as db:
        text = format_pabulib(export_pabulib(db, _cycle(db, cycle_id)))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"cycle {cycle_id}: written to {output}", err=True)


def _move(obj, cycle_id: int, to: Phase) -> None:
    with obj.runtime.sessions.begin() as db:
        cycle = _cycle(db, cycle_id)
        try:
            warning = cycles.change_phase(db, cycle, to)
        except cycles.CycleError as exc:
            raise click.ClickException(f"cycle {cycle_id}: {exc}") from exc
        phase = cycle.phase
    if warning:
        click.echo(f"warning: cycle {cycle_id}: {warning}", err=True)
    click.echo(f"cycle {cycle_id}: {phase}")


@group.command("open")
@click.argument("cycle_id", metavar="CYCLE", type=int)
@click.pass_obj
def open_(obj, cycle_id: int) -> None:
    """Open voting (from proposals, review, or closed to reopen)."""
    _move(obj, cycle_id, Phase.VOTING)


@group.command("close")
@click.argument("cycle_id", metavar="CYCLE", type=int)
@click.pass_obj
def close(obj, cycle_id: int) -> None:
    """Close voting, and rewrite the cycle's ballots out of arrival order (PostgreSQL)."""
    _move(obj, cycle_id, Phase.CLOSED)


@group.command("reorder")
@click.argument("cycle_ids", metavar="CYCLE...", type=int, nargs=-1, required=True)
@click.pass_obj
def reorder(obj, cycle_ids: tuple[int, ...]) -> None:
    """Rewrite closed cycles' ballots so their storage no longer follows arrival order.

    Closing voting does it; this is for a close that could not (it says so), or cycles closed
    before Baraza did. Reads and writes of ballots in every cycle wait while it runs.
    """
    runtime = obj.runtime
    with runtime.sessions.begin() as db:
        for cycle_id in cycle_ids:
            cycle = _cycle(db, cycle_id)
            if cycle.phase not in (Phase.CLOSED, Phase.PUBLISHED):
                raise click.ClickException(
                    f"cycle {cycle_id}: voting has not closed (phase {cycle.phase}); closing "
                    f"it rewrites its ballots")
        try:
            rewritten = ballot_order.reorder_ballots(db, cycle_ids)
        except ballot_order.ReorderError as exc:
            raise click.ClickException(f"ballots not rewritten: {exc}; try again") from exc
    if rewritten is None:
        click.echo("nothing to do: this database keeps ballots in the order of their random "
                   "ids (SQLite WITHOUT ROWID tables)")
        return
    ballot_order.vacuum_ballots(runtime.db)
    click.echo(f"cycles {', '.join(map(str, cycle_ids))}: {rewritten} ballots rewritten; ballot "
               f"tables in random-id order")


def _show(db: Session, cycle: Cycle) -> dict:
    counts = {proposal_id: (n, points) for proposal_id, n, points in db.execute(
        select(BallotChoice.proposal_id, func.count(), func.sum(BallotChoice.points))
        .join(Ballot).where(Ballot.cycle_id == cycle.id).group_by(BallotChoice.proposal_id))}
    ballots = db.scalar(select(func.count()).select_from(Ballot)
                        .where(Ballot.cycle_id == cycle.id))
    organization = db.get(Organization, cycle.organization_id)
    cumulative = cycle.ballot_type == BallotType.CUMULATIVE
    items = []
    for p in cycle.proposals:
        count, points = counts.get(p.id, (0, 0))
        item = {"code": p.code, "external_id": p.external_id, "title": p.title, "cost": p.cost,
                "status": str(p.status), "count": count}
        if cumulative:
            item["points"] = int(points or 0)
        items.append(item)
    return {"cycle": cycle.id, "name": cycle.name, "round": cycle.round,
            "organization": organization.code, "place": cycle.place.code,
            "place_name": cycle.place.name, "phase": str(cycle.phase),
            "ballot_type": str(cycle.ballot_type), "max_choices": cycle.max_choices,
            "points": cycle.points, "budget": cycle.budget, "currency": organization.currency,
            "rule": cycle.rule, "ballots": ballots, "proposals": items}


@group.command("show")
@click.argument("cycle_id", metavar="CYCLE", type=int)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def show(obj, cycle_id: int, as_json: bool) -> None:
    """A cycle and its proposals: code, external id, cost, how many ballots chose each."""
    with obj.runtime.sessions() as db:
        data = _show(db, _cycle(db, cycle_id))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"cycle {data['cycle']}: {data['name']} (round {data['round']}, "
               f"{data['place_name']}), {data['phase']}, {data['ballot_type']}, budget "
               f"{data['budget']} {data['currency']}, rule {data['rule']}, "
               f"{data['ballots']} ballots")
    for item in data["proposals"]:
        click.echo(f"{item['code']:>4}  {item['external_id'] or '-':>8}  {item['cost']:>12}  "
                   f"{item['count']:>6}  {item['status']:<9} {item['title']}")


@group.command("results")
@click.argument("cycle_id", metavar="CYCLE", type=int)
@click.option("--rule", type=click.Choice(RULES), default=None,
              help="counting rule (default: the cycle's)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def results(obj, cycle_id: int, rule: str | None, as_json: bool) -> None:
    """Count the cycle's current ballots: winners, total cost, support of every proposal."""
    with obj.runtime.sessions() as db:
        outcome = compute_results(db, _cycle(db, cycle_id), rule)
    by_code = {p.code: p for p in outcome.proposals}
    data = {
        "cycle": outcome.cycle_id, "rule": outcome.rule, "budget": outcome.budget,
        "ballots": outcome.ballots, "total_cost": _number(outcome.total_cost),
        "winners": [{"code": code, "external_id": by_code[code].external_id,
                     "title": by_code[code].title, "cost": by_code[code].cost}
                    for code in outcome.winners],
        "proposals": [{"code": p.code, "external_id": p.external_id, "title": p.title,
                       "cost": p.cost, "support": _number(p.support), "funded": p.funded}
                      for p in outcome.proposals],
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"cycle {outcome.cycle_id}: {outcome.rule}, {outcome.ballots} ballots, "
               f"{data['total_cost']} of {outcome.budget} funded")
    for p in outcome.proposals:
        mark = "*" if p.funded else " "
        click.echo(f"{mark} {p.code:>4}  {p.external_id or '-':>8}  {p.cost:>12}  "
                   f"{_number(p.support):>8}  {p.title}")


def register(main: click.Group) -> None:
    main.add_command(group)
