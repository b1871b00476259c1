"""Signing in and out; failed sign-ins are rate-limited per account and per client address."""

from __future__ import annotations

import logging
import math

from flask import Flask, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.console.access import safe_next, sign_in, sign_out
from app.console.blueprint import bp
from app.console.request_db import db
from app.services import accounts, audit
from app.services.login_throttle import Lock, LoginThrottle

log = logging.getLogger(__name__)
THROTTLE = "baraza_login_throttle"


def init_app(app: Flask) -> None:
    runtime = app.extensions["baraza"]
    app.extensions[THROTTLE] = LoginThrottle.for_redis(runtime.redis)


def _throttle() -> LoginThrottle:
    return current_app.extensions[THROTTLE]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    target = request.args.get("next")
    if g.user is not None:
        return redirect(safe_next(target))
    if request.method == "GET":
        return render_template("console/login.html", next=target, email="", error=None)
    email = request.form.get("email", "")
    address = request.remote_addr or "unknown"
    throttle = _throttle()
    lock = throttle.lock_of(email, address)
    if lock is not None:
        log.warning("console sign-in refused: %s locked from %s for %d s", lock.scope, address,
                    lock.retry_after)
        return _locked(target, email, lock)
    user = accounts.authenticate(db(), email, request.form.get("password", ""))
    if user is None:
        lock = throttle.failed(email, address)
        known = accounts.user_by_email(db(), email)
        log.warning("console sign-in failed (%s) from %s",
                    f"user {known.id}" if known else "unknown email", address)
        if lock is not None and known is not None and lock.scope == "account":
            # The account's own organization sees in its audit log that someone was guessing.
            audit.record(db(), None, "login.locked", "user", known.id,
                         {"address": address, "minutes": _minutes(lock)},
                         organization_id=known.organization_id)
            db().commit()
        # One message for unknown email and wrong password: do not confirm who has an account.
        return render_template("console/login.html", next=target, email=email,
                               error="Wrong email or password."), 401
    throttle.succeeded(email)
    sign_in(user)
    return redirect(safe_next(target))


def _minutes(lock: Lock) -> int:
    return max(1, math.ceil(lock.retry_after / 60))


def _locked(target: str | None, email: str, lock: Lock) -> tuple[str, int, dict[str, str]]:
    minutes = _minutes(lock)
    error = (f"Too many failed sign-ins. Wait {minutes} minute{'s' if minutes > 1 else ''} "
             "and try again, or ask an administrator to check your account.")
    page = render_template("console/login.html", next=target, email=email, error=error)
    return page, 429, {"Retry-After": str(lock.retry_after)}


@bp.post("/logout")
def logout() -> Response:
    # POST with a CSRF token: a link on another site cannot sign people out.
    sign_out()
    flash("You are signed out.")
    return redirect(url_for("console.login"))
