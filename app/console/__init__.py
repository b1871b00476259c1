"""Web console for county officers and call-centre agents: services in, never the engine."""

from __future__ import annotations

from flask import Flask, g

from app.console import request_db
from app.console.blueprint import bp
from app.console.permissions import allows


@bp.app_template_global("may")
def may(permission: str) -> bool:
    """Templates show a link only when its page would let this user in."""
    return allows(g.get("user"), permission)


def init_app(app: Flask) -> None:
    # Importing the view modules adds their routes to the blueprint.
    from app.console import (  # noqa: F401
        access,
        audit_log,
        campaigns,
        contacts,
        cycle_proposals,
        cycle_results,
        cycles,
        errors,
        login,
        organizations,
        places,
        project_exports,
        project_imports,
        project_members,
        projects,
        ticket_dashboard,
        tickets,
        users,
    )

    request_db.init_app(app)
    login.init_app(app)
    app.register_blueprint(bp)
