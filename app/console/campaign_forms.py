"""The console's campaign form read into what app.campaigns.lifecycle.create takes, and the
message text with the characters that force UCS-2 marked for the preview."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from werkzeug.datastructures import FileStorage

from app.campaigns.audience import Audience, read_numbers_csv
from app.db.base import utcnow
from app.db.models import Organization
from app.digits import id_or_none
from app.pmc.imports import ImportRefused
from app.pmc.project_files import decode

FIELDS = ("name", "everyone", "language", "cycle_id", "pmc", "open_complaints",
          "scheduled_for")
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> posts


class FormError(ValueError):
    """A form value that cannot be read; the message says what to change."""


@dataclass(frozen=True)
class CampaignForm:
    name: str
    messages: dict[str, str]  # language -> text, empty ones included (create drops them)
    audience: Audience
    scheduled_for: datetime | None


def read_campaign_form(form: Mapping[str, str], ward_values: Iterable[str],
                       upload: FileStorage | None, organization: Organization,
                       now: datetime | None = None) -> CampaignForm:
    """The campaign the form describes; wards and cycles of other organizations are refused
    later by lifecycle.create, which resolves the audience."""
    language = form.get("language", "").strip() or None
    if language is not None and language not in organization.languages:
        raise FormError("choose a language from the list")
    numbers = _numbers(upload, organization.country)
    audience = Audience(
        everyone=form.get("everyone") == "yes",
        ward_ids=tuple(_chosen_id(value, "ward") for value in ward_values if value.strip()),
        language=language,
        cycle_id=(_chosen_id(form["cycle_id"], "cycle") if form.get("cycle_id", "").strip()
                  else None),
        pmc=form.get("pmc") == "yes",
        open_complaints=form.get("open_complaints") == "yes",
        numbers=numbers.numbers if numbers else (),
        invalid_numbers=numbers.invalid if numbers else (),
        csv_duplicates=numbers.duplicates if numbers else 0)
    if not audience.uses_contacts and not audience.numbers:
        raise FormError("choose who gets the campaign: everyone, wards, a language, the voters "
                        "of a cycle, PMC members, people with open complaints, or a CSV of "
                        "numbers"
                        + (" (the CSV has no valid number)" if numbers else ""))
    messages = {language: form.get(f"message_{language}", "")
                for language in organization.languages}
    return CampaignForm(form.get("name", ""), messages, audience,
                        _when(form.get("scheduled_for", ""), organization.timezone,
                              now or utcnow()))


def _numbers(upload: FileStorage | None, region: str):
    if upload is None or not upload.filename:
        return None
    try:
        text = decode(upload.read())
    except ImportRefused as exc:
        raise FormError(f"the CSV of numbers is {exc.problems[0].message}") from None
    return read_numbers_csv(text, region)


def _chosen_id(raw: str, what: str) -> int:
    value = id_or_none(raw.strip())
    if value is None:
        raise FormError(f"choose a {what} from the list")
    return value


def _when(raw: str, timezone: str, now: datetime) -> datetime | None:
    """A local date and time (the organization's zone) as an aware datetime; None when empty."""
    if not raw.strip():
        return None
    try:
        local = datetime.strptime(raw.strip(), LOCAL_MINUTE)
    except ValueError:
        raise FormError("the start time looks like 2026-12-01 09:00") from None
    moment = local.replace(tzinfo=ZoneInfo(timezone))
    if moment <= now:
        raise FormError("the start time is in the past: leave it empty to send as soon as "
                        "the campaign is approved")
    return moment


def local_input(moment: datetime | None, timezone: str) -> str:
    """A stored time as the form's datetime-local value."""
    return moment.astimezone(ZoneInfo(timezone)).strftime(LOCAL_MINUTE) if moment else ""


def marked(text: str, characters: Iterable[str]) -> Markup:
    """`text` escaped, each character that forces UCS-2 wrapped in <mark>."""
    forcing = set(characters)
    return Markup("").join(Markup("<mark>{}</mark>").format(ch) if ch in forcing else escape(ch)
                           for ch in text)
