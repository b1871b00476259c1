"""What each role may do in the console: one table, read by the views and by the navigation.

Keeping it in one place means a link is shown exactly when following it is allowed.
"""

from __future__ import annotations

from enum import StrEnum

from app.db.models import Role, User


class Permission(StrEnum):
    VIEW_ORGANIZATION = "view_organization"  # the overview: public codes and counts
    VIEW_PLACES = "view_places"  # agents need ward names to help callers
    EDIT_PLACES = "edit_places"
    VIEW_CONTACTS = "view_contacts"  # browsing the whole register of residents
    LOOKUP_CALLERS = "lookup_callers"  # one number at a time: the person on the line
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    VIEW_CYCLES = "view_cycles"  # budget cycles and their proposals, read-only
    MANAGE_CYCLES = "manage_cycles"  # create cycles, add and review proposals, move phases
    VIEW_RESULTS = "view_results"  # counted results, once voting has opened
    VIEW_TURNOUT = "view_turnout"  # who took part, by place and profile (small cells hidden)
    VIEW_PROJECTS = "view_projects"  # projects, their PMCs, reports, flags; read-only
    MANAGE_PROJECTS = "manage_projects"  # edit projects, change PMCs, import files
    EXPORT_PROJECTS = "export_projects"  # reports CSV and the OC4IDS package
    VIEW_CAMPAIGNS = "view_campaigns"  # bulk SMS campaigns, their preview and progress
    MANAGE_CAMPAIGNS = "manage_campaigns"  # draft, pause, resume, cancel a campaign
    APPROVE_CAMPAIGNS = "approve_campaigns"  # the second pair of eyes before a bulk send
    VIEW_TICKETS = "view_tickets"  # complaints, their history and who works on them
    LOG_TICKETS = "log_tickets"  # open a complaint for the caller on the line
    WORK_TICKETS = "work_tickets"  # assign, comment, change status and priority
    SUPERVISE_TICKETS = "supervise_tickets"  # the dashboard: open tickets, age, SLA breaches


_EVERYONE = frozenset(Role)

ROLES: dict[Permission, frozenset[Role]] = {
    Permission.VIEW_ORGANIZATION: _EVERYONE,
    Permission.VIEW_PLACES: _EVERYONE,
    Permission.EDIT_PLACES: frozenset({Role.ADMIN, Role.OFFICER}),
    Permission.VIEW_CONTACTS: frozenset({Role.ADMIN, Role.OFFICER}),
    # Supervisors lead the call centre and take calls themselves.
    Permission.LOOKUP_CALLERS: frozenset({Role.ADMIN, Role.OFFICER, Role.AGENT,
                                          Role.SUPERVISOR}),
    Permission.VIEW_AUDIT: frozenset({Role.ADMIN}),
    Permission.MANAGE_USERS: frozenset({Role.ADMIN}),
    Permission.VIEW_CYCLES: _EVERYONE,  # agents tell callers the proposal codes
    Permission.MANAGE_CYCLES: frozenset({Role.ADMIN, Role.OFFICER}),
    Permission.VIEW_RESULTS: _EVERYONE,
    Permission.VIEW_TURNOUT: frozenset({Role.ADMIN, Role.OFFICER}),
    # Agents answer residents' and PMC members' calls about projects; they change nothing.
    Permission.VIEW_PROJECTS: frozenset({Role.ADMIN, Role.OFFICER, Role.AGENT}),
    Permission.MANAGE_PROJECTS: frozenset({Role.ADMIN, Role.OFFICER}),
    Permission.EXPORT_PROJECTS: frozenset({Role.ADMIN, Role.OFFICER}),
    # Campaigns: the same roles app.campaigns.lifecycle allows (AUTHORS may draft, pause,
    # resume and cancel; only an approver approves, never their own). Admins do not approve:
    # they create users, so approving too would let one person be both pairs of eyes.
    Permission.VIEW_CAMPAIGNS: frozenset({Role.ADMIN, Role.OFFICER, Role.APPROVER}),
    Permission.MANAGE_CAMPAIGNS: frozenset({Role.ADMIN, Role.OFFICER, Role.APPROVER}),
    Permission.APPROVE_CAMPAIGNS: frozenset({Role.APPROVER}),
    # Tickets: the call centre (agents, their supervisors) logs and works complaints; officers
    # read them (a project's complaints reach the officer who runs it) but move nothing, so the
    # history shows call-centre hands only; approvers have no part in complaints. Admins can do
    # all of it, as for every other desk. The dashboard is for whoever watches the SLA.
    Permission.VIEW_TICKETS: frozenset({Role.ADMIN, Role.OFFICER, Role.AGENT, Role.SUPERVISOR}),
    Permission.LOG_TICKETS: frozenset({Role.ADMIN, Role.AGENT, Role.SUPERVISOR}),
    Permission.WORK_TICKETS: frozenset({Role.ADMIN, Role.AGENT, Role.SUPERVISOR}),
    Permission.SUPERVISE_TICKETS: frozenset({Role.ADMIN, Role.SUPERVISOR}),
}


def allows(user: User | None, permission: Permission | str) -> bool:
    return user is not None and Role(user.role) in ROLES[Permission(permission)]
