"""Reminder SMS to the PMC members of projects that have gone quiet, at most one a week.

Each active seat on a QUIET project gets one SMS in its member's language (NOTICE lane, from
the organization's sender). A seat is claimed by one conditional UPDATE that moves its
`reminded_on` to today only when it was never reminded or was reminded at least
`reminder_every_days` ago; the SMS is an outbox row in the same transaction. So a job run
twice, two schedulers, or two workers racing send nothing twice: the second claim finds the
seat already reminded (PostgreSQL re-checks the condition after the first commits).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, Organization, PmcMember, SendLane
from app.engine.flow import N_
from app.pmc.early_warning import Flag, WarningRules, project_flags, quiet_for
from app.pmc.warnings import local_today, watched_projects, zone_of
from app.services import outbox

if TYPE_CHECKING:
    from app.services.dispatch import Dispatcher

log = logging.getLogger(__name__)

Gettext = Callable[[str], str]

REMINDER = N_("{org}: no PMC report on {code} ({name}) for {days} days. Please send one, "
              "e.g. PMC {code} 40 ONTRACK")
SMS_LIMIT = 160
ELLIPSIS = "..."


def send_reminders(db: Session, organization: Organization, today: date, rules: WarningRules,
                   gettext_for: Callable[[str], Gettext]) -> list[int]:
    """Queue the reminders due today in the organization; returns the new outbox ids (send
    them after the caller commits)."""
    zone = zone_of(organization.timezone)
    quiet = {}
    for watched in watched_projects(db, organization.id):
        if Flag.QUIET in project_flags(watched.project, watched.reports, today, rules, tz=zone):
            quiet[watched.project.id] = (watched.project,
                                         quiet_for(watched.project, watched.reports, today,
                                                   tz=zone))
    if not quiet:
        return []
    seats = claim_seats(db, list(quiet), today, rules.reminder_every_days)
    ids = []
    for seat, contact in seats:
        project, days = quiet[seat.project_id]
        _ = gettext_for(contact.language or organization.default_language)
        body = reminder_text(_, organization.name, project.code, project.name, days)
        ids.append(outbox.queue_sms(db, organization.id, contact.msisdn, body,
                                    SendLane.NOTICE, sender=organization.sms_sender))
    return ids


def claim_seats(db: Session, project_ids: list[int], today: date,
                every_days: int) -> list[tuple[PmcMember, Contact]]:
    """Mark the due active seats of these projects reminded today; return them with their
    contacts (opted-out numbers are neither claimed nor returned)."""
    reachable = select(Contact.id).where(Contact.opted_out.is_(False))
    claimed = db.scalars(
        update(PmcMember)
        .where(PmcMember.project_id.in_(project_ids), PmcMember.active.is_(True),
               PmcMember.contact_id.in_(reachable),
               or_(PmcMember.reminded_on.is_(None),
                   PmcMember.reminded_on <= today - timedelta(days=every_days)))
        .values(reminded_on=today)
        .returning(PmcMember.id)
        .execution_options(synchronize_session=False)).all()
    if not claimed:
        return []
    rows = db.execute(
        select(PmcMember, Contact).join(Contact, Contact.id == PmcMember.contact_id)
        .where(PmcMember.id.in_(claimed)).order_by(PmcMember.project_id, PmcMember.id)
        .execution_options(populate_existing=True))
    return [(seat, contact) for seat, contact in rows]


def reminder_text(_: Gettext, org: str, code: str, name: str, days: int) -> str:
    """The reminder, its project name shortened when the whole would not fit one SMS."""
    template = _(REMINDER)
    text = template.format(org=org, code=code, name=name, days=days)
    over = len(text) - SMS_LIMIT
    if over > 0 and len(name) > over + len(ELLIPSIS):
        short = name[:len(name) - over - len(ELLIPSIS)].rstrip() + ELLIPSIS
        text = template.format(org=org, code=code, name=short, days=days)
    return text


def remind_organizations(sessions: sessionmaker[Session], gettext_for: Callable[[str], Gettext],
                         dispatcher: Dispatcher, rules: WarningRules, now: datetime, *,
                         org_code: str | None = None,
                         today: date | None = None) -> dict[str, int]:
    """Send the reminders due in each organization (or the one named), each in its own
    transaction, on its own date at `now` unless `today` is given; returns counts by code."""
    with sessions() as db:
        query = select(Organization.id, Organization.code).order_by(Organization.code)
        if org_code is not None:
            query = query.where(Organization.code == org_code)
        organizations = db.execute(query).all()
    sent = {}
    for organization_id, code in organizations:
        with sessions.begin() as db:
            organization = db.get(Organization, organization_id)
            day = today or local_today(organization, now)
            ids = send_reminders(db, organization, day, rules, gettext_for)
        if ids:
            dispatcher.send_sms(ids, SendLane.NOTICE)
        log.info("%s: %d PMC reminders queued for %s", code, len(ids), day.isoformat())
        sent[code] = len(ids)
    return sent
