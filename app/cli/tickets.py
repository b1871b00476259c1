"""`baraza tickets ...`: complaint tickets from the command line.

    baraza tickets escalate [--now ISO-TIME]
    baraza tickets show REFERENCE --org CODE

`escalate` does by hand what the scheduled job does (`app.tickets.escalation`): safe to repeat,
and the way to run it from the system's cron on a deployment without Redis.
"""

from __future__ import annotations

from datetime import datetime

import click

from app.cli.lookups import organization_named
from app.tickets.escalation import run_escalation
from app.tickets.tickets import Found, look_up


@click.group("tickets")
def group() -> None:
    """Complaint tickets."""


@group.command("escalate")
@click.option("--now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
              help="the time to judge overdue at (default: now), with its UTC offset")
@click.pass_obj
def escalate(obj, now: datetime | None) -> None:
    """Escalate overdue tickets to supervisors, each once; supervisors get one SMS."""
    runtime = obj.runtime
    escalated = run_escalation(runtime.sessions, runtime.desk, runtime.dispatcher, now)
    count = len(escalated.ticket_ids)
    click.echo(f"{count} ticket{'s' * (count != 1)} escalated, "
               f"{len(escalated.outbox_ids)} SMS to supervisors queued")


@group.command("show")
@click.argument("reference")
@click.option("--org", "org_code", required=True, help="organization code, e.g. nandi")
@click.pass_obj
def show(obj, reference: str, org_code: str) -> None:
    """A ticket's status and history (no complaint text: it may be personal)."""
    with obj.runtime.sessions() as db:
        organization = organization_named(db, org_code)
        found = look_up(db, organization.id, reference, None)
        if found.found != Found.YOURS:
            raise click.ClickException(
                f"{found.reference or reference!r}: "
                + ("the check digit does not match (mistyped?)" if found.found == Found.MISTYPED
                   else "no such ticket"))
        ticket = found.ticket
        click.echo(f"{ticket.reference} {ticket.category} {ticket.status} "
                   f"priority={ticket.priority} due={ticket.due_at.isoformat()}"
                   + (f" escalated={ticket.escalated_at.isoformat()}" if ticket.escalated_at
                      else ""))
        for event in ticket.events:
            change = " -> ".join(v for v in (event.from_value, event.to_value) if v)
            click.echo(f"  {event.at.isoformat()} {event.kind} {change}".rstrip())


def register(main: click.Group) -> None:
    main.add_command(group)
