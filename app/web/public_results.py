"""Public results pages (no login): published cycles, their winners, and a receipt check.

Only cycles in phase `published` exist here; any other cycle is a 404, like one that does not
exist. The receipt check answers "counted" or "not found" and nothing else: never the choices.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.db.models import Cycle, Organization, Phase
from app.pb import ballots
from app.pb.results_cache import cache_in
from app.pb.results_chart import chart_of, money
from app.services import organizations
from app.web.page_headers import protect_page

CACHE_SIZE = 256  # published cycles whose counted results are kept in memory, per process
bp = Blueprint("public_results", __name__, url_prefix="/results", template_folder="templates")


@bp.app_template_filter("money")
def money_filter(amount: int, currency: str) -> str:
    return money(amount, currency)


@bp.get("/<org_code>")
def index(org_code: str) -> str:
    with current_app.extensions["baraza"].sessions() as db:
        org = _organization_or_404(db, org_code)
        published = db.scalars(select(Cycle).where(
            Cycle.organization_id == org.id, Cycle.phase == Phase.PUBLISHED)
            .order_by(Cycle.created_at.desc(), Cycle.id.desc())).all()
        return render_template("results_index.html", org=org, cycles=published)


@bp.route("/<org_code>/<int:cycle_id>", methods=["GET", "POST"])
def cycle_results(org_code: str, cycle_id: int) -> str:
    runtime = current_app.extensions["baraza"]
    with runtime.sessions() as db:
        org = _organization_or_404(db, org_code)
        cycle = db.get(Cycle, cycle_id)
        if cycle is None or cycle.organization_id != org.id or cycle.phase != Phase.PUBLISHED:
            abort(404)
        check = None
        if request.method == "POST":  # the receipt check; flask-wtf checked the CSRF token
            typed = request.form.get("receipt", "").strip()[:40]
            ballot = ballots.ballot_by_receipt(db, runtime.keyring, org.id, typed)
            check = {"receipt": typed,
                     "counted": ballot is not None and ballot.cycle_id == cycle.id}
        # Counting can take seconds (MES with add1); a published cycle is counted once.
        chart = chart_of(cache_in(current_app.extensions, "public_results", CACHE_SIZE)
                         .results(db, cycle))
        return render_template("results_cycle.html", org=org, cycle=cycle, chart=chart,
                               check=check)


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> tuple[str, int, dict[str, str]]:
    return ("This form expired or did not come from this page. Go back, reload the page and "
            "try again.", 400, {"Content-Type": "text/plain; charset=utf-8"})


@bp.after_request
def protect_pages(response: Response) -> Response:
    # A checked receipt is not kept in caches.
    return protect_page(response)


def _organization_or_404(db: Session, code: str) -> Organization:
    org = organizations.organization_by_code(db, code)
    if org is None:
        abort(404)
    return org


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
