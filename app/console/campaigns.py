"""Bulk SMS campaigns in the console: the list, drafting one, its preview, four-eyes approval,
pause/resume/cancel, and a progress bar fed by a small JSON endpoint.

Every rule is app.campaigns.lifecycle's (who may do what, in which state) and every number is
app.campaigns.preview's or progress's; the views only read forms, commit, then queue the
background work, as `baraza sms campaign` does.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.campaigns import lifecycle
from app.campaigns.audience import AudienceError
from app.campaigns.materialise import LOST_AFTER
from app.campaigns.message_text import MessageError, Price
from app.campaigns.preview import Preview, preview_campaign
from app.campaigns.progress import Progress, progress
from app.campaigns.runner import campaign_jobs, start_work
from app.console.access import SESSION_KEY, login_required, organization_or_404
from app.console.blueprint import bp
from app.console.campaign_forms import (
    FIELDS,
    CampaignForm,
    FormError,
    local_input,
    marked,
    read_campaign_form,
)
from app.console.permissions import ROLES, Permission, allows
from app.console.request_db import db
from app.db.models import Campaign, CampaignStatus, Cycle, Organization, Role, User
from app.services import overview
from app.services.paging import fetch_page
from app.services.sms_basics import LANGUAGE_NAMES

log = logging.getLogger(__name__)

MAX_UPLOAD = 5 * 1024 * 1024  # a CSV of 100,000 numbers is under 2 MB
MAX_INVALID_SHOWN = 20  # CSV entries that are no number, listed on the preview; the rest counted
PAGE_SIZE = 25
FAILURES = (lifecycle.CampaignError, AudienceError, MessageError)
FINISHED = {CampaignStatus.COMPLETED, CampaignStatus.CANCELLED}
# The buttons an operator sees, by status; lifecycle refuses any other step anyway.
ACTIONS = {
    "pause": (lifecycle.pause, "Pause", "paused"),
    "resume": (lifecycle.resume, "Resume", "resumed"),
    "cancel": (lifecycle.cancel, "Cancel campaign", "cancelled"),
}
ACTIONS_BY_STATUS = {
    CampaignStatus.DRAFT: ("cancel",),
    CampaignStatus.APPROVED: ("pause", "cancel"),
    CampaignStatus.SCHEDULED: ("pause", "cancel"),
    CampaignStatus.SENDING: ("pause", "cancel"),
    CampaignStatus.PAUSED: ("resume", "cancel"),
}


@bp.url_value_preprocessor
def allow_csv_upload(endpoint: str | None, _values: dict | None) -> None:
    # As for project imports: before the CSRF check reads the body, a signed-in user's CSV of
    # numbers may be larger than the app-wide limit that keeps AT's small forms cheap.
    if endpoint == "console.new_campaign" and isinstance(session.get(SESSION_KEY), int):
        request.max_content_length = MAX_UPLOAD


@bp.get("/orgs/<code>/campaigns")
@login_required(roles=ROLES[Permission.VIEW_CAMPAIGNS])
def campaign_list(code: str) -> str:
    org = organization_or_404(code)
    session_db = db()
    page = fetch_page(session_db, select(Campaign).where(Campaign.organization_id == org.id)
                      .order_by(Campaign.created_at.desc(), Campaign.id.desc()),
                      request.args.get("page", 1, type=int), PAGE_SIZE)
    rows = [(campaign, _progress(session_db, campaign)) for campaign in page.items]
    return render_template("console/campaigns.html", org=org, page=page, rows=rows)


@bp.route("/orgs/<code>/campaigns/new", methods=["GET", "POST"])
@login_required(roles=ROLES[Permission.MANAGE_CAMPAIGNS])
def new_campaign(code: str) -> Response | str | tuple[str, int]:
    org = organization_or_404(code)
    if request.method == "GET":
        return _new_page(org, {}, [], None)
    form = {key: request.form.get(key, "") for key in FIELDS} | {
        f"message_{language}": request.form.get(f"message_{language}", "")
        for language in org.languages}
    wards = request.form.getlist("ward")
    session_db = db()
    try:
        parsed: CampaignForm = read_campaign_form(form, wards, request.files.get("numbers"), org)
        campaign = lifecycle.create(session_db, org, g.user, parsed.name, parsed.messages,
                                    parsed.audience, scheduled_for=parsed.scheduled_for)
    except (FormError, *FAILURES) as exc:
        session_db.rollback()
        return _new_page(org, form, wards, str(exc)), 400
    session_db.commit()
    flash(f"Draft campaign {campaign.name} saved: nothing is sent until an approver approves it.")
    invalid = parsed.audience.invalid_numbers
    if invalid:
        flash(f"Left out of the CSV, not a phone number: {len(invalid)} "
              f"entr{'y' if len(invalid) == 1 else 'ies'} (listed below).")
    return redirect(url_for("console.campaign_page", code=org.code, campaign_id=campaign.id))


@bp.get("/orgs/<code>/campaigns/<int:campaign_id>")
@login_required(roles=ROLES[Permission.VIEW_CAMPAIGNS])
def campaign_page(code: str, campaign_id: int) -> str:
    org = organization_or_404(code)
    return render_campaign(org, campaign_or_404(org, campaign_id))


@bp.get("/orgs/<code>/campaigns/<int:campaign_id>/progress")
@login_required(roles=ROLES[Permission.VIEW_CAMPAIGNS])
def campaign_progress(code: str, campaign_id: int) -> Response:
    """The progress bar's counts as JSON, polled by campaign_progress.js."""
    org = organization_or_404(code)
    campaign = campaign_or_404(org, campaign_id)
    state = _progress(db(), campaign)
    return jsonify(asdict(state) | {"percent": bar_percent(campaign, state),
                                    "materialised": campaign.materialised,
                                    "finished": campaign.status in FINISHED})


@bp.post("/orgs/<code>/campaigns/<int:campaign_id>/approve")
@login_required(roles=ROLES[Permission.APPROVE_CAMPAIGNS])
def approve_campaign(code: str, campaign_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    return _step(org, campaign_or_404(org, campaign_id), lifecycle.approve,
                 "approved: recipients are being written, then sent inside the sending hours")


@bp.post("/orgs/<code>/campaigns/<int:campaign_id>/status")
@login_required(roles=ROLES[Permission.MANAGE_CAMPAIGNS])
def change_campaign(code: str, campaign_id: int) -> Response | tuple[str, int]:
    org = organization_or_404(code)
    campaign = campaign_or_404(org, campaign_id)
    action = ACTIONS.get(request.form.get("action", ""))
    if action is None:
        return render_campaign(org, campaign, error="Unknown action."), 400
    step, _label, done = action
    return _step(org, campaign, step, done)


def _step(org: Organization, campaign: Campaign, step, done: str) -> Response | tuple[str, int]:
    """Run a lifecycle step (it audits), commit, then queue what the campaign needs next."""
    session_db = db()
    try:
        result = step(session_db, campaign, g.user)
    except lifecycle.CampaignError as exc:
        session_db.rollback()
        return render_campaign(org, campaign, error=f"Not done: {exc}."), 400
    status, materialised = str(campaign.status), campaign.materialised
    session_db.commit()
    try:
        start_work(campaign_jobs(current_app.extensions["baraza"]), campaign.id, status,
                   materialised)
    except Exception:  # Redis down: the step is committed, and the sweep queues it again
        log.exception("campaign %s: next step not queued", campaign.id)
        flash("The background work could not be queued now; it is queued again "
              f"automatically within {LOST_AFTER.seconds // 60 + 1} minutes.")
    stopped = f" ({result} unsent messages stopped)" if isinstance(result, int) else ""
    flash(f"Campaign {campaign.name} {done}{stopped}.")
    return redirect(url_for("console.campaign_page", code=org.code, campaign_id=campaign.id))


def campaign_or_404(org: Organization, campaign_id: int) -> Campaign:
    try:
        return lifecycle.campaign_of(db(), org.id, campaign_id)
    except lifecycle.CampaignError:
        abort(404)


def bar_percent(campaign: Campaign, state: Progress) -> int:
    """Progress.percent, except 0 while no recipient is written yet (its total is still 0)."""
    return state.percent if campaign.materialised or campaign.status in FINISHED else 0


def approval_blocker(campaign: Campaign, user: User) -> str | None:
    """Why this user cannot approve the campaign now (lifecycle.approve enforces the same)."""
    if campaign.status != CampaignStatus.DRAFT:
        return None
    if Role(user.role) != Role.APPROVER:
        return (f"Only a user with the approver role may approve a campaign; you are "
                f"{user.role}. Ask an approver to review it.")
    if user.id == campaign.created_by_id:
        return "You created this campaign: another approver must approve it (four eyes)."
    return None


def render_campaign(org: Organization, campaign: Campaign, error: str | None = None) -> str:
    session_db = db()
    runtime = current_app.extensions["baraza"]
    result: Preview | None = None
    preview_error = None
    if campaign.status == CampaignStatus.DRAFT:
        try:
            result = preview_campaign(session_db, campaign,
                                      Price.parse(runtime.settings.sms_price_per_part),
                                      runtime.catalogs.gettext_for)
        except (AudienceError, ValueError) as exc:  # a ward deleted since, a bad price setting
            preview_error = str(exc)
    state = _progress(session_db, campaign)
    people = {u.id: u for u in session_db.scalars(select(User).where(
        User.id.in_([i for i in (campaign.created_by_id, campaign.approved_by_id) if i])))}
    actions = [(name, ACTIONS[name][1])
               for name in ACTIONS_BY_STATUS.get(CampaignStatus(campaign.status), ())]
    return render_template(
        "console/campaign.html", org=org, campaign=campaign, preview=result,
        preview_error=preview_error, state=state, percent=bar_percent(campaign, state),
        segments=bar_segments(state), error=error, people=people,
        language_names=LANGUAGE_NAMES, marked=marked,
        may_approve=allows(g.user, Permission.APPROVE_CAMPAIGNS),
        approval_blocker=approval_blocker(campaign, g.user),
        actions=actions if allows(g.user, Permission.MANAGE_CAMPAIGNS) else [],
        max_invalid=MAX_INVALID_SHOWN,
        scheduled=local_input(campaign.scheduled_for, org.timezone).replace("T", " "),
        audience=_audience_words(session_db, org, campaign.audience))


def bar_segments(state: Progress) -> list[tuple[str, str, int, float, float]]:
    """(key, label, count, x, width) of each part of the bar, in percent of the total."""
    parts = [("delivered", "Delivered", state.delivered),
             ("sent", "Sent, no delivery report yet", state.sent - state.delivered),
             ("failed", "Failed", state.failed),
             ("suppressed", "Suppressed", state.suppressed),
             ("cancelled", "Cancelled", state.cancelled)]
    segments, x = [], 0.0
    for key, label, count in parts:
        width = 100 * count / state.total if state.total else 0.0
        segments.append((key, label, count, round(x, 2), round(width, 2)))
        x += width
    return segments


def _progress(session_db, campaign: Campaign) -> Progress:
    return progress(session_db, campaign.id)


def _audience_words(session_db, org: Organization, audience: dict) -> list[str]:
    """The audience as an officer would say it."""
    words = []
    if audience.get("everyone"):
        words.append("everyone in the organization's contacts")
    if audience.get("ward_ids"):
        names = {row.place.id: row.place.name for row in overview.place_tree(session_db, org.id)}
        words.append("in " + ", ".join(names.get(i, f"place {i}") for i in audience["ward_ids"]))
    if audience.get("language"):
        words.append("reading " + LANGUAGE_NAMES.get(audience["language"], audience["language"]))
    if audience.get("cycle_id"):
        cycle = session_db.get(Cycle, audience["cycle_id"])
        words.append("who voted in " + (cycle.name if cycle else f"cycle {audience['cycle_id']}"))
    if audience.get("pmc"):
        words.append("active PMC members")
    if audience.get("open_complaints"):
        words.append("with an open complaint")
    if audience.get("numbers"):
        words.append(f"plus {len(audience['numbers'])} numbers from a CSV")
    return words


def _new_page(org: Organization, form: dict[str, str], wards: list[str],
              error: str | None) -> str:
    session_db = db()
    cycles = session_db.scalars(select(Cycle).where(Cycle.organization_id == org.id)
                                .order_by(Cycle.created_at.desc(), Cycle.id.desc())).all()
    return render_template("console/campaign_new.html", org=org, form=form,
                           wards={str(w) for w in wards}, error=error,
                           places=overview.place_tree(session_db, org.id), cycles=cycles,
                           language_names=LANGUAGE_NAMES, max_mb=MAX_UPLOAD // 2**20)
