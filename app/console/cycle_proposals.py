"""A cycle's proposals in the console: adding one, accepting or rejecting it (audited)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from app.console.access import login_required, organization_or_404
from app.console.blueprint import bp
from app.console.cycles import FormError, cycle_or_404, render_cycle, whole_number
from app.console.permissions import ROLES, Permission
from app.console.request_db import db
from app.db.models import Phase, Proposal
from app.pb import proposals
from app.services import audit

PROPOSAL_FIELDS = ("title", "title_sw", "description", "cost", "category")
MAX_CATEGORY = 60


@bp.post("/orgs/<code>/cycles/<int:cycle_id>/proposals")
@login_required(roles=ROLES[Permission.MANAGE_CYCLES])
def add_proposal(code: str, cycle_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    cycle = cycle_or_404(org, cycle_id)
    form = {key: request.form.get(key, "").strip() for key in PROPOSAL_FIELDS}
    session = db()
    try:
        if cycle.phase not in (Phase.PROPOSALS, Phase.REVIEW):
            # The ballot is fixed once voting opens: a proposal added then could not be reviewed.
            raise FormError("proposals are added before voting opens")
        if len(form["category"]) > MAX_CATEGORY:
            raise FormError(f"a category has at most {MAX_CATEGORY} characters")
        sw_title = " ".join(form["title_sw"].split())
        if len(sw_title) > proposals.MAX_TITLE:
            raise FormError(f"a title needs 1 to {proposals.MAX_TITLE} characters")
        proposal = proposals.add_proposal(
            session, cycle, title=form["title"], cost=whole_number(form["cost"], "cost"),
            description=form["description"], titles={"sw": sw_title} if sw_title else {},
            category=form["category"] or None, submitted_via="console")
    except (FormError, proposals.ProposalError) as exc:
        session.rollback()
        return render_cycle(org, cycle, error=f"Cannot add the proposal: {exc}.", form=form,
                            error_for="proposal"), 400
    audit.record(session, g.user, "proposal.add", "proposal", proposal.id,
                 {"cycle": cycle.id, "code": proposal.code, "title": proposal.title,
                  "cost": proposal.cost}, organization_id=org.id)
    session.commit()
    flash(f"Added proposal {proposal.code}: {proposal.title}.")
    return redirect(url_for("console.cycle_page", code=org.code, cycle_id=cycle.id))


@bp.post("/orgs/<code>/cycles/<int:cycle_id>/proposals/<int:proposal_id>/review")
@login_required(roles=ROLES[Permission.MANAGE_CYCLES])
def review_proposal(code: str, cycle_id: int, proposal_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    cycle = cycle_or_404(org, cycle_id)
    session = db()
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.cycle_id != cycle.id:
        abort(404)
    decision = request.form.get("decision", "")
    if decision not in ("accept", "reject"):
        abort(400)
    before = str(proposal.status)
    try:
        proposals.review(proposal, decision == "accept", request.form.get("reason", ""))
    except proposals.ProposalError as exc:
        session.rollback()
        return render_cycle(org, cycle, error=f"Cannot {decision} proposal {proposal.code}: "
                                              f"{exc}.", error_for="review"), 400
    audit.record(session, g.user, f"proposal.{decision}", "proposal", proposal.id,
                 {"cycle": cycle.id, "code": proposal.code, "from": before,
                  "to": str(proposal.status), "reason": proposal.rejection_reason},
                 organization_id=org.id)
    session.commit()
    verb = "Accepted" if decision == "accept" else "Rejected"
    flash(f"{verb} proposal {proposal.code}: {proposal.title}.")
    return redirect(url_for("console.cycle_page", code=org.code, cycle_id=cycle.id,
                            _anchor="proposals"))
