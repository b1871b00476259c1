"""The console's one blueprint; the view modules add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static")
