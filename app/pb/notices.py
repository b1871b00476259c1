"""Publishing a cycle's results: each voter gets one SMS, in their language, with the winners.

The messages are outbox rows written in the publishing transaction (lane NOTICE, behind
replies); `Participation.notified` makes a second publish, or a retried job, send nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Contact, Cycle, Organization, Participation, Phase, SendLane
from app.engine.flow import N_
from app.pb import cycles
from app.pb.results import compute_results
from app.services import outbox

Gettext = Callable[[str], str]

RESULTS = N_("Results of {cycle}: funded projects {codes}. Thank you for voting.")
NOTHING_FUNDED = N_("Results of {cycle}: no project was funded. Thank you for voting.")
SMS_LIMIT = 160
MORE = " +{n}"


def publish(db: Session, cycle: Cycle, gettext_for: Callable[[str], Gettext]) -> list[int]:
    """Move a closed cycle to PUBLISHED and queue its result notices; returns the outbox ids."""
    cycles.move(cycle, Phase.PUBLISHED)
    return queue_result_notices(db, cycle, gettext_for)


def queue_result_notices(db: Session, cycle: Cycle,
                         gettext_for: Callable[[str], Gettext]) -> list[int]:
    winners = compute_results(db, cycle).winners
    rows = db.execute(
        select(Participation, Contact).join(Contact, Contact.id == Participation.contact_id)
        .where(Participation.cycle_id == cycle.id, Participation.notified.is_(False))
    ).all()
    organization_language = _organization_language(db, cycle)
    ids = []
    for participation, contact in rows:
        participation.notified = True
        if contact.opted_out:
            continue
        _ = gettext_for(contact.language or organization_language)
        body = notice_text(_, cycle.name, winners)
        ids.append(outbox.queue_sms(db, cycle.organization_id, contact.msisdn, body,
                                    SendLane.NOTICE))
    return ids


def notice_text(_: Gettext, cycle_name: str, winners: tuple[int, ...]) -> str:
    """The notice, with as many winning codes as fit in one SMS and a count of the rest."""
    if not winners:
        return _(NOTHING_FUNDED).format(cycle=cycle_name)
    template = _(RESULTS)
    for shown in range(len(winners), 0, -1):
        codes = ", ".join(map(str, winners[:shown]))
        if shown < len(winners):
            codes += MORE.format(n=len(winners) - shown)
        text = template.format(cycle=cycle_name, codes=codes)
        if len(text) <= SMS_LIMIT:
            return text
    return template.format(cycle=cycle_name, codes=f"{winners[0]}{MORE.format(n=len(winners) - 1)}")


def _organization_language(db: Session, cycle: Cycle) -> str:
    return db.get(Organization, cycle.organization_id).default_language
