"""A cycle's results (everyone, once voting has opened) and turnout (officers) in the console."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.cycles import RULES, cycle_or_404
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import Phase
from app.pb.results_cache import cache_in
from app.pb.results_chart import chart_of
from app.pb.turnout import THRESHOLD, turnout_of

COUNTED_PHASES = (Phase.VOTING, Phase.CLOSED, Phase.PUBLISHED)
CACHE_SIZE = 8  # (cycle, rule) results kept per process; any change to a ballot counts again


@bp.get("/orgs/<code>/cycles/<int:cycle_id>/results")
@login_required(roles=ROLES[Permission.VIEW_RESULTS])
def cycle_results(code: str, cycle_id: int) -> Response | str:
    org = organization_or_404(code)
    cycle = cycle_or_404(org, cycle_id)
    if cycle.phase not in COUNTED_PHASES:
        flash("Results are counted once voting opens.")
        return redirect(url_for("console.cycle_page", code=org.code, cycle_id=cycle.id))
    # Officers compare rules; the cycle's own rule is what gets published.
    rule = request.args.get("rule", cycle.rule)
    rule = rule if rule in RULES else cycle.rule
    cache = cache_in(current_app.extensions, "console_results", CACHE_SIZE)
    chart = chart_of(cache.results(db(), cycle, rule))
    return render_template("console/cycle_results.html", org=org, cycle=cycle, chart=chart,
                           rule=rule, rules=RULES)


@bp.get("/orgs/<code>/cycles/<int:cycle_id>/turnout")
@login_required(roles=ROLES[Permission.VIEW_TURNOUT])
def cycle_turnout(code: str, cycle_id: int) -> str:
    org = organization_or_404(code)
    cycle = cycle_or_404(org, cycle_id)
    return render_template("console/cycle_turnout.html", org=org, cycle=cycle,
                           turnout=turnout_of(db(), cycle), threshold=THRESHOLD)
