"""Budget cycles in the console: the list, creating one, its page, and moving its phase.

Every change is audited in the transaction that makes it. Proposals are in
`cycle_proposals.py`, results and turnout in `cycle_results.py`.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import BallotType, Cycle, Organization, Phase, SendLane, VoterKey
from app.digits import id_or_none, is_whole
from app.pb import cycles, notices
from app.pb.results_chart import money
from app.services import audit, overview

BALLOT_TYPES = {
    BallotType.APPROVAL: "Approval within the budget",
    BallotType.K_APPROVAL: "k-approval: at most k proposals",
    BallotType.CHOOSE_ONE: "Choose one",
    BallotType.CUMULATIVE: "Cumulative: spread N points",
}
VOTER_KEYS = {VoterKey.PHONE: "Phone number", VoterKey.NATIONAL_ID: "National ID number"}
RULES = {"mes": "Method of Equal Shares (add1)", "greedy": "Greedy by support"}
# What each move is called on its button, by (from, to).
MOVES = {
    (Phase.PROPOSALS, Phase.REVIEW): "Start review",
    (Phase.REVIEW, Phase.PROPOSALS): "Reopen proposals",
    (Phase.PROPOSALS, Phase.VOTING): "Open voting",
    (Phase.REVIEW, Phase.VOTING): "Open voting",
    (Phase.VOTING, Phase.CLOSED): "Close voting",
    (Phase.CLOSED, Phase.VOTING): "Reopen voting",
    (Phase.CLOSED, Phase.PUBLISHED): "Publish results",
}
PHASE_ORDER = (Phase.PROPOSALS, Phase.REVIEW, Phase.VOTING, Phase.CLOSED, Phase.PUBLISHED)
CYCLE_FIELDS = ("name", "round", "place_id", "budget", "ballot_type", "max_choices", "points",
                "voter_key", "rule")


class FormError(ValueError):
    """A form value that cannot be read; the message says what to type."""


@bp.app_template_filter("money")
def money_filter(amount: int, currency: str) -> str:
    return money(amount, currency)


@bp.get("/orgs/<code>/cycles")
@login_required(roles=ROLES[Permission.VIEW_CYCLES])
def cycle_list(code: str) -> str:
    org = organization_or_404(code)
    rows = db().scalars(select(Cycle).where(Cycle.organization_id == org.id)
                        .order_by(Cycle.created_at.desc(), Cycle.id.desc())).all()
    return render_template("console/cycles.html", org=org, cycles=rows,
                           ballot_types=BALLOT_TYPES)


@bp.route("/orgs/<code>/cycles/new", methods=["GET", "POST"])
@login_required(roles=ROLES[Permission.MANAGE_CYCLES])
def new_cycle(code: str) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    if request.method == "GET":
        return _new_cycle_page(org, {"ballot_type": "approval", "voter_key": "phone",
                                     "rule": "mes"}, None)
    form = {key: request.form.get(key, "").strip() for key in CYCLE_FIELDS}
    session = db()
    try:
        place_id = id_or_none(form["place_id"])
        place = overview.place_of(session, org.id, place_id) if place_id is not None else None
        if place is None:
            raise FormError("choose a place of this organization")
        kind = _choice(form["ballot_type"], BALLOT_TYPES, "ballot type")
        cycle = cycles.create_cycle(
            session, organization_id=org.id, name=form["name"], round_name=form["round"],
            place=place, budget=whole_number(form["budget"], "budget"), ballot_type=kind,
            # Only the number the ballot type uses is read; the other field may hold anything.
            max_choices=optional_number(form["max_choices"], "k")
            if kind == BallotType.K_APPROVAL else None,
            points=optional_number(form["points"], "number of points")
            if kind == BallotType.CUMULATIVE else None,
            voter_key=_choice(form["voter_key"], VOTER_KEYS, "voter key"),
            rule=form["rule"])
    except (FormError, cycles.CycleError) as exc:
        session.rollback()
        return _new_cycle_page(org, form, str(exc)), 400
    audit.record(session, g.user, "cycle.create", "cycle", cycle.id, {
        "name": cycle.name, "round": cycle.round, "place": f"{place.kind} {place.code}",
        "budget": cycle.budget, "ballot_type": str(cycle.ballot_type),
        "max_choices": cycle.max_choices, "points": cycle.points,
        "voter_key": str(cycle.voter_key), "rule": cycle.rule}, organization_id=org.id)
    session.commit()
    flash(f"Created cycle {cycle.name}. Add its proposals below.")
    return redirect(url_for("console.cycle_page", code=org.code, cycle_id=cycle.id))


@bp.get("/orgs/<code>/cycles/<int:cycle_id>")
@login_required(roles=ROLES[Permission.VIEW_CYCLES])
def cycle_page(code: str, cycle_id: int) -> str:
    org = organization_or_404(code)
    return render_cycle(org, cycle_or_404(org, cycle_id))


@bp.post("/orgs/<code>/cycles/<int:cycle_id>/phase")
@login_required(roles=ROLES[Permission.MANAGE_CYCLES])
def move_cycle(code: str, cycle_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    cycle = cycle_or_404(org, cycle_id)
    session, before = db(), Phase(cycle.phase)
    runtime = current_app.extensions["baraza"]
    notice_ids: list[int] = []
    warning = None
    try:
        if request.form.get("to") == Phase.PUBLISHED:
            notice_ids = notices.publish(session, cycle, runtime.catalogs.gettext_for)
        else:
            warning = cycles.change_phase(session, cycle, request.form.get("to", ""))
    except ValueError as exc:  # CycleError, or a phase that does not exist
        session.rollback()
        message = str(exc) if isinstance(exc, cycles.CycleError) else "unknown phase"
        return render_cycle(org, cycle, error=f"Cannot move the cycle: {message}."), 400
    audit.record(session, g.user, "cycle.phase", "cycle", cycle.id,
                 {"name": cycle.name, "from": str(before), "to": str(cycle.phase)},
                 organization_id=org.id)
    session.commit()
    if notice_ids:
        runtime.dispatcher.send_sms(notice_ids, SendLane.NOTICE)  # after commit, never before
    flash(f"{cycle.name}: {MOVES[(before, Phase(cycle.phase))].lower()} done; "
          f"the cycle is now in phase {cycle.phase}"
          + (f"; {len(notice_ids)} result SMS queued." if notice_ids else "."))
    if warning:
        flash(f"Warning: {warning}.")
    return redirect(url_for("console.cycle_page", code=org.code, cycle_id=cycle.id))


def cycle_or_404(org: Organization, cycle_id: int) -> Cycle:
    cycle = cycles.cycle_of(db(), org.id, cycle_id)
    if cycle is None:
        abort(404)
    return cycle


def render_cycle(org: Organization, cycle: Cycle, error: str | None = None,
                 form: dict[str, str] | None = None, error_for: str | None = None) -> str:
    """The cycle's page; `error_for` names the form the error belongs to."""
    phase = Phase(cycle.phase)
    moves = [(target, MOVES[(phase, target)]) for target in PHASE_ORDER
             if target in cycles.TRANSITIONS[phase]]
    return render_template(
        "console/cycle.html", org=org, cycle=cycle, moves=moves, error=error,
        error_for=error_for or "phase", form=form or {}, ballot_types=BALLOT_TYPES,
        voter_keys=VOTER_KEYS, rules=RULES, phase_order=PHASE_ORDER,
        reviewing=phase in (Phase.PROPOSALS, Phase.REVIEW),
        counted=phase in (Phase.VOTING, Phase.CLOSED, Phase.PUBLISHED))


def _new_cycle_page(org: Organization, form: dict[str, str], error: str | None) -> str:
    return render_template("console/cycle_new.html", org=org, form=form, error=error,
                           places=overview.place_tree(db(), org.id),
                           ballot_types=BALLOT_TYPES, voter_keys=VOTER_KEYS, rules=RULES)


def whole_number(raw: str, what: str) -> int:
    """A whole number as officers type it: 5,000,000 or 5 000 000 or 5000000."""
    cleaned = raw.replace(",", "").replace(" ", "").replace("_", "")
    if not is_whole(cleaned):
        raise FormError(f"the {what} is a whole number, like 5,000,000")
    return int(cleaned)


def optional_number(raw: str, what: str) -> int | None:
    return whole_number(raw, what) if raw.strip() else None


def _choice(raw: str, choices: dict, what: str) -> str:
    if raw not in {str(key) for key in choices}:
        raise FormError(f"choose a {what} from the list")
    return raw
