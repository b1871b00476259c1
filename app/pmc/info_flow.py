"""What flows/project_info.yaml calls: "Projects in my ward" for any resident.

The flow, screen by screen:
- `pi_where`: the ward is the contact's when it is known (saved as the vote flow's pb_ward);
  otherwise the sub-county and ward are asked with the vote flow's own lookups (`pb_areas`,
  `pb_subcounties`, `pb_wards`), and the ward is named with `pb_ward_name`. Nothing is
  written: looking at a ward's projects does not make it the caller's ward.
- The ward's projects by name, paged by the renderer: name, status and the progress of the
  latest PMC report ("no report" when none came in). A ward without projects says so and
  offers another ward.
- Choosing one shows its name, status, progress and contract value in the organization's
  currency, with "Choose another ward"; "0. Back" returns to the list.

Read-only: every lookup reads the database through the session factory; no action writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import Project, ProjectStatus
from app.engine.flow import N_, Choice, Lookup, Query, Update, Validator
from app.engine.render import ELLIPSIS
from app.pb.ballot_text import fill, priced, short_title
from app.pb.flow_support import WARD, EffectHandler, PbFlows, _int, _org, _place
from app.pmc import projects, reports
from app.services import contacts

PROJECT, DETAILS = "pi_project", "pi_details"

DETAILS_LENGTH = 99
LIST_NAME_LENGTH = 30  # a project's name on the ward's list

STATUS_LABELS = {
    ProjectStatus.PLANNED: N_("Planned"),
    ProjectStatus.ONGOING: N_("Ongoing"),
    ProjectStatus.STALLED: N_("Stalled"),
    ProjectStatus.COMPLETED: N_("Completed"),
    ProjectStatus.CANCELLED: N_("Cancelled"),
}
DONE = N_("progress {percent}%")
NO_REPORT = N_("no report yet")
NOT_SET = N_("not set")
DETAILS = N_("{name}\nStatus: {status}, {progress}\nContract value: {value}")


@dataclass(frozen=True)
class ProjectInfoFlows:
    """The project information flow's capabilities, on the vote flow's database."""

    pb: PbFlows

    def lookups(self) -> dict[str, Lookup]:
        return {
            "pi_where": Lookup(self.where),
            "pi_any": Lookup(self.any),
            "pi_projects": Lookup(self.projects),
            "pi_details": Lookup(self.details, DETAILS_LENGTH),
        }

    def validators(self) -> dict[str, Validator]:
        return {}

    def handlers(self) -> dict[str, EffectHandler]:
        return {}  # read-only

    def where(self, q: Query) -> object:
        """'known' with the contact's ward saved, or 'ask'."""
        if not self.pb.online:
            return Update("ask", {WARD: ""})
        with self.pb.sessions() as db:
            contact = contacts.find_contact(db, _org(q), q.msisdn)
            ward = _place(db, _org(q), str(contact.ward_id or "")) if contact else None
        if ward is None:
            return Update("ask", {WARD: ""})
        return Update("known", {WARD: str(ward.id)})

    def any(self, q: Query) -> bool:
        with self.pb.sessions() as db:
            return bool(_of_ward(db, q))

    def projects(self, q: Query) -> list[Choice]:
        if not self.pb.online:
            return []
        _ = self.pb.gettext_for(q.language)
        with self.pb.sessions() as db:
            found = _of_ward(db, q)
            latest = reports.latest_reports(db, [p.id for p in found])
            return [Choice(_label(p, latest.get(p.id), _), str(p.id)) for p in found]

    def details(self, q: Query) -> str:
        _ = self.pb.gettext_for(q.language)
        with self.pb.sessions() as db:
            project = db.get(Project, _int(q.answers.get(PROJECT)))
            if project is None or project.organization_id != _org(q):
                return ""
            latest = reports.latest_report(db, project.id)
            currency = q.vars.get("currency", "")
            value = (priced(project.contract_value, currency)
                     if project.contract_value is not None else _(NOT_SET))
            progress = fill(_(DONE), percent=latest.progress) if latest else _(NO_REPORT)
            frame = {"status": _status(project, _), "progress": progress, "value": value}
            room = DETAILS_LENGTH - len(fill(_(DETAILS), name="", **frame))
            name = " ".join(project.name.split())
            if len(name) > room:
                name = short_title(name, max(room - len(ELLIPSIS), 10)) + ELLIPSIS
            return fill(_(DETAILS), name=name, **frame)[:DETAILS_LENGTH]


def _of_ward(db: Session, q: Query) -> list[Project]:
    """The ward's projects by name, case aside (databases order capitals differently)."""
    ward = _place(db, _org(q), q.answers.get(WARD, ""))
    found = projects.projects_of_ward(db, _org(q), ward.id) if ward is not None else []
    return sorted(found, key=lambda p: (p.name.casefold(), p.id))


def _status(project: Project, _) -> str:
    label = STATUS_LABELS.get(project.status)
    return _(label) if label else str(project.status)


def _label(project: Project, latest, _) -> str:
    """Name, status, progress: "Kalawa market borehole - Ongoing 45%"."""
    progress = f" {latest.progress}%" if latest is not None else ""
    return f"{short_title(project.name, LIST_NAME_LENGTH)} - {_status(project, _)}{progress}"
