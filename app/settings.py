"""Settings read from the environment, once, into a frozen value."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Development defaults that are safe only because they never leave a laptop.
_DEV_SECRET = "dev-secret-key-not-for-production"
_DEV_BALLOT_KEY = "dev-ballot-key-not-for-production"


class SettingsError(RuntimeError):
    """Raised when the environment cannot make a runnable configuration."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    # Secrets (and URLs that may carry a password) stay out of repr(), so no log line or
    # traceback that prints the settings shows them.
    database_url: str = field(default=f"sqlite:///{ROOT / 'instance' / 'baraza.sqlite3'}",
                              repr=False)
    redis_url: str | None = field(default=None, repr=False)
    secret_key: str = field(default=_DEV_SECRET, repr=False)
    callback_token: str | None = field(default=None, repr=False)
    # Keys the HMAC that links a voter to their ballot; never stored in the database, so a
    # dump cannot tell how a number voted. Losing it only stops voters changing past ballots.
    ballot_key: str = field(default=_DEV_BALLOT_KEY, repr=False)
    at_username: str | None = None
    at_api_key: str | None = field(default=None, repr=False)
    at_api_url: str | None = None
    ussd_max_chars: int = 160
    ussd_session_ttl: int = 300  # AT ends a session after 180 s; keep state a little longer
    simulator_enabled: bool = True
    flows_dir: Path = ROOT / "flows"
    locales_dir: Path = ROOT / "locales"
    sms_batch_size: int = 100
    # Messages per second per sender, across all workers (counted in Redis); 0: no limit.
    sms_rate_per_second: int = 50
    # Campaigns (app.campaigns): the preview's price per SMS part, the local hours campaign
    # messages may go out in (each organization's own time zone), rows written per transaction.
    sms_price_per_part: str = "0.80 KES"
    campaign_hours: str = "08:00-18:00"
    campaign_chunk_size: int = 1000
    # Project monitoring's early warning (app.pmc.early_warning) and its reminder SMS.
    pmc_quiet_days: int = 14  # a project with no PMC report for this many days is quiet
    pmc_behind_by: int = 20  # percentage points behind the schedule its dates imply
    pmc_reminder_days: int = 7  # at most one reminder per member and project this often
    pmc_reminder_interval: int = 86400  # seconds between runs of the reminder job
    # Complaint tickets (app.tickets): hours to resolve per category, e.g. "corruption=48,
    # service=72" (others keep app.tickets.sla.DEFAULT_HOURS; an organization may override),
    # and seconds between runs of the job that escalates overdue tickets to supervisors.
    ticket_sla_hours: str = ""
    ticket_escalation_interval: int = 900
    # The feedback line's voice menu (app.tickets.voice_line). Recorded prompts: a URL template
    # with {language} and {prompt} (and optionally {organization}, the organization's code),
    # used for the languages listed in voice_audio_languages; every other caller hears English
    # text to speech. Agents: the phones of the organization's active agents and supervisors,
    # else voice_agent_numbers; with voice_queue_name set, callers wait in AT's queue instead.
    voice_audio_url: str | None = None
    voice_audio_languages: tuple[str, ...] = ()
    voice_record_seconds: int = 120
    voice_agent_numbers: tuple[str, ...] = ()
    voice_queue_name: str | None = None
    voice_hold_music_url: str | None = None
    # GET /metrics needs `Authorization: Bearer <token>` when set; only loopback may scrape
    # without it. Production requires it.
    metrics_token: str | None = field(default=None, repr=False)
    log_format: str = "text"  # "json": one JSON object per line (the default in production)
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto: the client address
    # (login limits, /metrics loopback check) is read through this many of them.
    trusted_proxies: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def at_configured(self) -> bool:
        return bool(self.at_username and self.at_api_key)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from environment variables; refuse unsafe production set-ups."""
    env = os.environ if environ is None else environ
    mode = env.get("BARAZA_ENV", "development")
    settings = Settings(
        env=mode,
        database_url=env.get("DATABASE_URL") or Settings.database_url,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=env.get("SECRET_KEY") or _DEV_SECRET,
        callback_token=env.get("BARAZA_CALLBACK_TOKEN") or None,
        ballot_key=env.get("BARAZA_BALLOT_KEY") or _DEV_BALLOT_KEY,
        at_username=env.get("AT_USERNAME") or None,
        at_api_key=env.get("AT_API_KEY") or None,
        at_api_url=env.get("AT_API_URL") or None,
        ussd_max_chars=_positive_int(env, "USSD_MAX_CHARS", 160),
        ussd_session_ttl=_positive_int(env, "USSD_SESSION_TTL", 300),
        simulator_enabled=_flag(env.get("BARAZA_SIMULATOR"), default=mode != "production"),
        flows_dir=Path(env.get("BARAZA_FLOWS_DIR") or Settings.flows_dir),
        sms_batch_size=_positive_int(env, "SMS_BATCH_SIZE", 100),
        sms_rate_per_second=_int_between(env, "SMS_RATE_PER_SECOND", 50, 0, 100_000),
        sms_price_per_part=env.get("SMS_PRICE_PER_PART") or Settings.sms_price_per_part,
        campaign_hours=env.get("CAMPAIGN_HOURS") or Settings.campaign_hours,
        campaign_chunk_size=_positive_int(env, "CAMPAIGN_CHUNK_SIZE", 1000),
        pmc_quiet_days=_positive_int(env, "PMC_QUIET_DAYS", 14),
        pmc_behind_by=_int_between(env, "PMC_BEHIND_BY", 20, 0, 100),
        pmc_reminder_days=_positive_int(env, "PMC_REMINDER_DAYS", 7),
        pmc_reminder_interval=_int_between(env, "PMC_REMINDER_INTERVAL", 86400, 60, 7 * 86400),
        ticket_sla_hours=_sla_hours(env.get("TICKET_SLA_HOURS") or ""),
        ticket_escalation_interval=_int_between(env, "TICKET_ESCALATION_INTERVAL", 900, 60, 86400),
        **_voice_settings(env),
        metrics_token=env.get("METRICS_TOKEN") or None,
        log_format=log_format_of(env),
        trusted_proxies=_int_between(env, "BARAZA_TRUSTED_PROXIES", 0, 0, 5),
    )
    if settings.is_production:
        _check_production(settings)
    return settings


def log_format_of(env: Mapping[str, str]) -> str:
    """LOG_FORMAT, or json in production and text elsewhere (read before the other settings,
    so a command that fails on its settings still logs in the right format)."""
    raw = env.get("LOG_FORMAT")
    production = env.get("BARAZA_ENV", "development") == "production"
    value = (raw or ("json" if production else "text")).strip().lower()
    if value not in {"json", "text"}:
        raise SettingsError(f"LOG_FORMAT must be json or text, got {raw!r}")
    return value


def _sla_hours(raw: str) -> str:
    # Checked here so a typo stops the start, not the first complaint of the day. Imported
    # late: the ticket rules import the models, which settings must not need to load.
    from app.tickets.sla import SlaError, parse_policy

    try:
        parse_policy(raw)
    except SlaError as exc:
        raise SettingsError(f"TICKET_SLA_HOURS: {exc}") from exc
    return raw


def _voice_settings(env: Mapping[str, str]) -> dict[str, object]:
    # Checked here so a typo stops the start, not the first call of the day. Imported late,
    # like the SLA rules above.
    from app.tickets.voice_config import VoiceConfigError, checked_voice_settings

    try:
        return checked_voice_settings(
            audio_url=env.get("VOICE_AUDIO_URL") or None,
            audio_languages=env.get("VOICE_AUDIO_LANGUAGES") or "",
            agent_numbers=env.get("VOICE_AGENT_NUMBERS") or "",
            queue_name=env.get("VOICE_QUEUE_NAME") or None,
            hold_music_url=env.get("VOICE_HOLD_MUSIC_URL") or None,
        ) | {"voice_record_seconds": _int_between(env, "VOICE_RECORD_SECONDS", 120, 5, 3600)}
    except VoiceConfigError as exc:
        raise SettingsError(str(exc)) from exc


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _int_between(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _int(env, name, default)
    if not low <= value <= high:
        raise SettingsError(f"{name} must be from {low} to {high}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


def _check_production(settings: Settings) -> None:
    missing = []
    if settings.secret_key == _DEV_SECRET:
        missing.append("SECRET_KEY")
    if not settings.callback_token:
        missing.append("BARAZA_CALLBACK_TOKEN")
    if settings.ballot_key == _DEV_BALLOT_KEY:
        missing.append("BARAZA_BALLOT_KEY")
    if not settings.at_configured:
        missing.extend(["AT_USERNAME", "AT_API_KEY"])
    if settings.database_url.startswith("sqlite"):
        missing.append("DATABASE_URL (PostgreSQL)")
    if not settings.redis_url:
        missing.append("REDIS_URL")
    if not settings.metrics_token:
        missing.append("METRICS_TOKEN")
    if missing:
        raise SettingsError("production needs: " + ", ".join(missing))
