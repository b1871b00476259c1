"""`baraza sms campaign ...`: bulk SMS campaigns from scripts.

    baraza sms campaign create --org CODE --name NAME --by EMAIL
                              (--message-en TEXT --message-sw TEXT ... | --file CAMPAIGN.yaml)
                              [--everyone] [--ward CODE ...] [--language LANG] [--cycle ID]
                              [--pmc] [--complaints] [--csv FILE] [--at 2026-12-01T09:00+03:00]
    baraza sms campaign preview ID --org CODE [--json]
    baraza sms campaign approve ID --org CODE --by EMAIL
    baraza sms campaign status ID --org CODE [--follow]
    baraza sms campaign pause|resume|cancel ID --org CODE --by EMAIL
    baraza sms hours --org CODE [08:00-18:00 | --default]

A campaign AT refuses for the whole account (401 RiskHold, 402 InvalidSenderId,
405 InsufficientBalance) is paused and logged as an error; fix the account, then `resume` it:
every recipient not yet accepted is sent, once.

A YAML file holds `name`, `messages` (language: text) and optionally `audience` with the same
keys as the flags (`everyone`, `wards`, `language`, `cycle`, `pmc`, `complaints`, `csv`), and
`at`; flags given on the command line win. `--by` is the console user acting: approval must be
by a different user with the approver role (four eyes). Placeholders: {name} {ward} {org}.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import click
import yaml

from app.campaigns import lifecycle
from app.campaigns.audience import Audience, AudienceError, read_numbers_csv, ward_ids_by_code
from app.campaigns.message_text import MessageError, Price
from app.campaigns.preview import Preview, preview_campaign
from app.campaigns.progress import Progress, progress
from app.campaigns.quiet_hours import Window, window_for
from app.campaigns.runner import campaign_jobs, start_work
from app.cli.lookups import organization_named
from app.cli.projects import read_text
from app.db.models import Organization, User
from app.services.accounts import user_by_email

FAILURES = (lifecycle.CampaignError, AudienceError, MessageError)


@click.group("sms")
def group() -> None:
    """Outbound SMS."""


@group.group("campaign")
def campaign_group() -> None:
    """Bulk SMS campaigns: create, preview, approve (a second person), follow."""


ORG = click.option("--org", "org_code", required=True, help="organization code, e.g. makueni")
BY = click.option("--by", "email", required=True, help="email of the console user acting")
CAMPAIGN_ID = click.argument("campaign_id", type=int)




def _user(db, email: str) -> User:
    user = user_by_email(db, email)
    if user is None:
        raise click.ClickException(f"no console user {email!r}")
    return user


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a time like 2026-12-01T09:00+03:00") from exc
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a UTC offset, e.g. +03:00")
    return moment


@campaign_group.command("create")
@ORG
@click.option("--name")
@BY
@click.option("--message-en", help="the English text")
@click.option("--message-sw", help="the Kiswahili text")
@click.option("--file", "source", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a YAML file with name, messages and audience")
@click.option("--everyone", is_flag=True, default=None, help="every contact of the organization")
@click.option("--ward", "wards", multiple=True, metavar="CODE",
              help="a place code (wards under a sub-county or county included); repeatable")
@click.option("--language", help="only residents reading this language")
@click.option("--cycle", type=int, help="only residents who voted in this budget cycle")
@click.option("--pmc", is_flag=True, default=None, help="only active PMC members")
@click.option("--complaints", is_flag=True, default=None,
              help="people with open complaints (not available yet)")
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a CSV of phone numbers (first column) to add")
@click.option("--at", "at", help="send no earlier than this time (ISO 8601 with offset)")
@click.pass_obj
def create(obj, org_code, name, email, message_en, message_sw, source, everyone, wards,
           language, cycle, pmc, complaints, csv_file, at) -> None:
    """Draft a campaign (it sends nothing until an approver approves it)."""
    spec = _read_spec(source) if source else {}
    audience_spec = dict(spec.get("audience") or {})
    messages = {k: str(v) for k, v in (spec.get("messages") or {}).items()}
    for language_code, text in (("en", message_en), ("sw", message_sw)):
        if text is not None:
            messages[language_code] = text
    name = name or spec.get("name")
    if not name:
        raise click.UsageError("give --name (or name: in the file)")
    for key, value in (("everyone", everyone), ("language", language), ("cycle", cycle),
                       ("pmc", pmc), ("complaints", complaints)):
        if value is not None:
            audience_spec[key] = value
    if wards:
        audience_spec["wards"] = list(wards)
    if csv_file:
        audience_spec["csv"] = str(csv_file)
    with obj.runtime.sessions.begin() as db:
        organization = organization_named(db, org_code)
        user = _user(db, email)
        try:
            audience = _audience(db, organization, audience_spec, source)
            campaign = lifecycle.create(db, organization, user, name, messages, audience,
                                        scheduled_for=_when(at or spec.get("at")))
        except FAILURES as exc:
            raise click.ClickException(str(exc)) from exc
        campaign_id = campaign.id
        result = preview_campaign(db, campaign, _price(obj), obj.runtime.catalogs.gettext_for)
    click.echo(f"campaign {campaign_id} created (draft): {name}")
    _echo_preview(result)
    click.echo(f"next: baraza sms campaign approve {campaign_id} --org {org_code} "
               "--by APPROVER_EMAIL")


def _read_spec(source: Path) -> dict:
    try:
        data = yaml.safe_load(read_text(source)) or {}
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise click.ClickException(f"{source}: expected a mapping with name, messages, audience")
    return data


def _audience(db, organization: Organization, spec: dict, source: Path | None) -> Audience:
    wards = [str(code) for code in spec.get("wards") or ()]
    numbers = ()
    invalid: tuple[str, ...] = ()
    duplicates = 0
    if spec.get("csv"):
        path = Path(spec["csv"])
        if not path.is_absolute() and source is not None and not path.exists():
            path = source.parent / path
        listed = read_numbers_csv(read_text(path), organization.country)
        numbers, invalid, duplicates = listed.numbers, listed.invalid, listed.duplicates
    audience = Audience(everyone=bool(spec.get("everyone")),
                        ward_ids=ward_ids_by_code(db, organization.id, wards) if wards else (),
                        language=spec.get("language"),
                        cycle_id=int(spec["cycle"]) if spec.get("cycle") else None,
                        pmc=bool(spec.get("pmc")), open_complaints=bool(spec.get("complaints")),
                        numbers=tuple(numbers), invalid_numbers=tuple(invalid),
                        csv_duplicates=duplicates)
    if not audience.uses_contacts and not audience.numbers:
        raise AudienceError("no audience: give --everyone, --ward, --language, --cycle, --pmc "
                            "or --csv")
    return audience


def _price(obj) -> Price:
    try:
        return Price.parse(obj.runtime.settings.sms_price_per_part)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_preview(result: Preview) -> None:
    click.echo(f"recipients: {result.recipients} (removed: {result.opted_out} opted out, "
               f"{result.suppressed} suppressed, {result.duplicates} duplicates, "
               f"{len(result.invalid)} invalid)")
    if result.invalid:
        click.echo("invalid numbers: " + ", ".join(result.invalid[:20])
                   + (" ..." if len(result.invalid) > 20 else ""))
    for language in result.languages:
        check = language.check
        line = (f"  {language.language}: {language.recipients} recipients, {check.encoding}, "
                f"{check.length} chars, {check.parts} part{'s' * (check.parts != 1)} "
                f"({language.first_check.parts} with the stop hint, for "
                f"{language.first_messages} first messages)")
        if check.ucs2_characters:
            line += " UCS-2 because of: " + " ".join(repr(c) for c in check.ucs2_characters)
        click.echo(line)
    click.echo(f"estimated cost: {result.parts} parts, {result.cost_text}")


def _preview_json(result: Preview) -> dict:
    return {"recipients": result.recipients, "opted_out": result.opted_out,
            "suppressed": result.suppressed, "duplicates": result.duplicates,
            "invalid": list(result.invalid), "parts": result.parts,
            "cost": str(result.cost), "currency": result.currency,
            "languages": [{"language": lp.language, "recipients": lp.recipients,
                           "encoding": str(lp.check.encoding), "length": lp.check.length,
                           "parts": lp.check.parts, "parts_with_stop_hint": lp.first_check.parts,
                           "first_messages": lp.first_messages,
                           "ucs2_characters": list(lp.check.ucs2_characters)}
                          for lp in result.languages]}


@campaign_group.command("preview")
@CAMPAIGN_ID
@ORG
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def preview_(obj, campaign_id, org_code, as_json) -> None:
    """Recipients after removals, per language, encoding, parts and estimated cost."""
    with obj.runtime.sessions() as db:
        organization = organization_named(db, org_code)
        try:
            campaign = lifecycle.campaign_of(db, organization.id, campaign_id)
            result = preview_campaign(db, campaign, _price(obj),
                                      obj.runtime.catalogs.gettext_for)
        except FAILURES as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(_preview_json(result), ensure_ascii=False, indent=2))
    else:
        _echo_preview(result)


def _step(obj, campaign_id, org_code, email, step) -> tuple[str, bool]:
    with obj.runtime.sessions.begin() as db:
        organization = organization_named(db, org_code)
        user = _user(db, email)
        try:
            campaign = lifecycle.campaign_of(db, organization.id, campaign_id)
            step(db, campaign, user)
        except FAILURES as exc:
            raise click.ClickException(str(exc)) from exc
        status, materialised = str(campaign.status), campaign.materialised
    start_work(campaign_jobs(obj.runtime), campaign_id, status, materialised)
    return status, materialised


@campaign_group.command("approve")
@CAMPAIGN_ID
@ORG
@BY
@click.pass_obj
def approve(obj, campaign_id, org_code, email) -> None:
    """Approve (an approver who did not create it); recipients are written in the background."""
    _step(obj, campaign_id, org_code, email, lifecycle.approve)
    click.echo(f"campaign {campaign_id} approved: recipients are being written, then sent "
               "inside the sending hours")


@campaign_group.command("pause")
@CAMPAIGN_ID
@ORG
@BY
@click.pass_obj
def pause(obj, campaign_id, org_code, email) -> None:
    """Stop handing messages to the sender."""
    _step(obj, campaign_id, org_code, email, lifecycle.pause)
    click.echo(f"campaign {campaign_id} paused")


@campaign_group.command("resume")
@CAMPAIGN_ID
@ORG
@BY
@click.pass_obj
def resume(obj, campaign_id, org_code, email) -> None:
    """Carry on after a pause."""
    status, _ = _step(obj, campaign_id, org_code, email, lifecycle.resume)
    click.echo(f"campaign {campaign_id} resumed ({status})")


@campaign_group.command("cancel")
@CAMPAIGN_ID
@ORG
@BY
@click.pass_obj
def cancel(obj, campaign_id, org_code, email) -> None:
    """Cancel for good: messages not yet handed to AT are never sent."""
    _step(obj, campaign_id, org_code, email, lifecycle.cancel)
    click.echo(f"campaign {campaign_id} cancelled")


def progress_line(state: Progress, width: int = 30) -> str:
    filled = width * state.percent // 100
    bar = "#" * filled + "-" * (width - filled)
    return (f"[{bar}] {state.percent:3d}% {state.status}: {state.total} recipients, "
            f"{state.queued} queued, {state.sent} sent, {state.delivered} delivered, "
            f"{state.failed} failed, {state.suppressed} suppressed, {state.cancelled} cancelled")


@campaign_group.command("status")
@CAMPAIGN_ID
@ORG
@click.option("--follow", "--watch", "watch", is_flag=True,
              help="redraw the progress bar until the campaign is finished")
@click.option("--interval", type=float, default=2.0, show_default=True,
              help="seconds between redraws with --watch")
@click.pass_obj
def status(obj, campaign_id, org_code, watch, interval) -> None:
    """Progress: queued, sent, delivered, failed, suppressed."""
    while True:
        with obj.runtime.sessions() as db:
            organization = organization_named(db, org_code)
            try:
                lifecycle.campaign_of(db, organization.id, campaign_id)
            except lifecycle.CampaignError as exc:
                raise click.ClickException(str(exc)) from exc
            state = progress(db, campaign_id)
        finished = state.status in {"completed", "cancelled"} and not state.queued
        if not watch:
            click.echo(progress_line(state))
            return
        click.echo("\r" + progress_line(state), nl=finished)
        if finished:
            return
        time.sleep(interval)


@group.command("hours")
@ORG
@click.argument("window", required=False)
@click.option("--default", "use_default", is_flag=True,
              help="forget the organization's own hours: use CAMPAIGN_HOURS")
@click.pass_obj
def hours(obj, org_code, window, use_default) -> None:
    """Show or set the local hours this organization's campaigns may send in (HH:MM-HH:MM,
    00:00-00:00 for no quiet hours). Replies to residents are never held."""
    if window and use_default:
        raise click.UsageError("give a window or --default, not both")
    try:
        parsed = Window.parse(window) if window else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="WINDOW") from exc
    with obj.runtime.sessions.begin() as db:
        organization = organization_named(db, org_code)
        if parsed is not None or use_default:
            organization.campaign_hours = str(parsed) if parsed else None
        own = organization.campaign_hours
    effective = window_for(own, obj.runtime.settings.campaign_hours)
    source = "its own" if own else "CAMPAIGN_HOURS"
    click.echo(f"{org_code}: campaigns send {effective} local time ({source})")


def register(main: click.Group) -> None:
    main.add_command(group)
