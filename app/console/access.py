"""Who is signed in, and the checks every console page makes before it shows anything."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for

from app.console.blueprint import bp
from app.console.request_db import db
from app.db.models import Organization, Role, User
from app.services import accounts, organizations

SESSION_KEY = "user_id"


@bp.before_request
def load_user() -> None:
    """g.user: the signed-in, still active user, or None."""
    user_id = session.get(SESSION_KEY)
    g.user = accounts.active_user(db(), user_id) if isinstance(user_id, int) else None


def sign_in(user: User) -> None:
    # A fresh session on every sign-in: a cookie planted before login (session fixation)
    # never becomes an authenticated one, and no earlier CSRF token survives.
    session.clear()
    session[SESSION_KEY] = user.id
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME, not at browser close


def sign_out() -> None:
    session.clear()


def login_required(roles: frozenset[Role] | None = None) -> Callable:
    """Send strangers to the login page; answer 403 to users whose role is not in `roles`.

    Views pass `roles=ROLES[Permission.X]` so the navigation and the check read one table.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return redirect(url_for("console.login", next=_here()))
            if roles is not None and Role(user.role) not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # read by the per-route test against ROLES
        return wrapper

    return decorate


def organization_or_404(code: str) -> Organization:
    """The organization if this user may see it; 404 otherwise, so its existence stays private."""
    organization = organizations.organization_by_code(db(), code)
    if organization is None or not accounts.may_access(g.user, organization):
        abort(404)
    g.organization = organization  # the navigation links to this organization's pages
    return organization


def _here() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return f"{request.path}?{query}" if query else request.path


def safe_next(target: str | None) -> str:
    """Where to go after login: only a console path on this site, never another host."""
    default = url_for("console.index")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or "\\" in target:
        return default
    return target
