"""create_app(): a list of registrations, nothing more."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from app.runtime import Runtime, build_runtime
from app.settings import Settings, load_settings


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or build_runtime(settings)
    app = Flask(__name__, template_folder="../console/templates")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        MAX_CONTENT_LENGTH=256 * 1024,  # AT's forms are small; refuse floods early
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # a console login lasts one shift
        WTF_CSRF_TIME_LIMIT=None,  # a form's token lives as long as the login, not 1 hour
    )
    app.extensions["baraza"] = runtime
    if settings.trusted_proxies:
        # request.remote_addr is the client's, not the proxy's (login limits count per client).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)

    from app import console
    from app.web import (
        at_callbacks,
        at_voice,
        form_guard,
        health,
        id_converter,
        metrics,
        public_results,
        request_ids,
        simulator,
    )

    id_converter.init_app(app)  # before any route: path ids fit the database's integers
    request_ids.init_app(app)  # first hook: every later hook and log line can use it
    metrics.init_app(app)  # GET /metrics, and the hooks that count callbacks
    form_guard.init_app(app)  # a NUL from a browser is refused before a view reads it
    csrf = CSRFProtect(app)  # every form in the browser carries a token
    health.init_app(app)
    at_callbacks.init_app(app)
    at_voice.init_app(app)  # the feedback line's voice menu
    # AT posts plain forms with no token (the URL's secret guards them); probes post nothing.
    csrf.exempt(at_callbacks.bp)
    csrf.exempt(at_voice.bp)
    csrf.exempt(health.bp)
    simulator.init_app(app)
    console.init_app(app)
    public_results.init_app(app)  # published PB results and the receipt check, no login
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["baraza"]
