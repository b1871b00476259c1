"""Signing in and out."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.console.access import safe_next, sign_in, sign_out
from app.console.blueprint import bp
from app.console.request_db import db
from app.services import accounts


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    target = request.args.get("next")
    if g.user is not None:
        return redirect(safe_next(target))
    if request.method == "GET":
        return render_template("console/login.html", next=target, email="", error=None)
    email = request.form.get("email", "")
    user = accounts.authenticate(db(), email, request.form.get("password", ""))
    if user is None:
        # One message for unknown email and wrong password: do not confirm who has an account.
        return render_template("console/login.html", next=target, email=email,
                               error="Wrong email or password."), 401
    sign_in(user)
    return redirect(safe_next(target))


@bp.post("/logout")
def logout() -> Response:
    # POST with a CSRF token: a link on another site cannot sign people out.
    sign_out()
    flash("You are signed out.")
    return redirect(url_for("console.login"))
