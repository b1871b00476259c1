"""AT's callback forms as values. Parsing never raises: a missing field becomes empty."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_FIELD = 200  # AT's ids, codes and numbers are short; anything longer is not from AT
MAX_TEXT = 20_000  # a hop's cumulative text or an SMS body; more is cut, never parsed
# AT's end-of-session report repeats every key the caller pressed (`input`) and our last screen:
# next to the phone number that would say how they voted, or their ID number. Never kept.
SECRET_SESSION_FIELDS = frozenset({"input", "lastAppResponse"})


def _field(form: Mapping[str, str], name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name) or ""
    # PostgreSQL text cannot hold NUL: a query or row with one fails, and AT would retry.
    return value[:limit].replace("\x00", "\ufffd")


@dataclass(frozen=True)
class UssdHop:
    session_id: str
    service_code: str
    phone_number: str
    network_code: str
    text: str

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> UssdHop:
        return cls(
            session_id=_field(form, "sessionId").strip(),
            service_code=_field(form, "serviceCode").replace(" ", ""),
            phone_number=_field(form, "phoneNumber"),
            network_code=_field(form, "networkCode"),
            text=_field(form, "text", MAX_TEXT),
        )


@dataclass(frozen=True)
class UssdEnd:
    """AT's end-of-session notification."""

    session_id: str
    service_code: str
    phone_number: str
    status: str
    hops: int | None
    duration_ms: int | None
    cost: str
    error_message: str
    payload: dict[str, str]

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> UssdEnd:
        return cls(
            session_id=_field(form, "sessionId").strip(),
            service_code=_field(form, "serviceCode").replace(" ", ""),
            phone_number=_field(form, "phoneNumber"),
            status=_field(form, "status", 20),
            hops=_int(form.get("hopsCount")),
            duration_ms=_int(form.get("durationInMillis")),
            cost=_field(form, "cost", 30),
            error_message=_field(form, "errorMessage", 2000),
            payload={k: str(v)[:2000] for k, v in list(form.items())[:30]
                     if k not in SECRET_SESSION_FIELDS},
        )


@dataclass(frozen=True)
class InboundSmsForm:
    at_id: str
    sender: str
    to: str
    text: str
    network_code: str
    link_id: str
    sent_at: datetime | None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> InboundSmsForm:
        return cls(
            at_id=_field(form, "id").strip(),
            sender=_field(form, "from"),
            to=_field(form, "to").strip(),
            text=_field(form, "text", MAX_TEXT),
            network_code=_field(form, "networkCode", 10),
            link_id=_field(form, "linkId"),
            sent_at=parse_at_date(_field(form, "date")),
        )


@dataclass(frozen=True)
class DeliveryReportForm:
    """AT's SMS delivery report: `id` is the messageId its send response gave us."""

    at_id: str
    status: str
    phone_number: str
    network_code: str
    failure_reason: str
    retry_count: int
    payload: dict[str, str]

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> DeliveryReportForm:
        return cls(
            at_id=_field(form, "id", 100).strip(),
            status=_field(form, "status", 20).strip(),
            phone_number=_field(form, "phoneNumber", 20).strip(),
            network_code=_field(form, "networkCode", 10),
            failure_reason=_field(form, "failureReason", 40).strip(),
            retry_count=_int(form.get("retryCount")) or 0,
            payload={k: str(v)[:200] for k, v in list(form.items())[:20]},
        )


@dataclass(frozen=True)
class OptOutForm:
    """AT's bulk SMS opt-out notification."""

    sender_id: str
    phone_number: str

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> OptOutForm:
        return cls(sender_id=_field(form, "senderId", 20).strip(),
                   phone_number=_field(form, "phoneNumber", 20).strip())


MAX_INT = 2**31 - 1  # the database's INTEGER: a bigger count is not from AT


def _int(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or -MAX_INT <= value <= MAX_INT else None


def parse_at_date(raw: str) -> datetime | None:
    """AT sends both `2017-05-03T06:04:45Z` and `2017-05-03 06:04:45` (UTC either way)."""
    text = raw.strip().replace("T", " ").rstrip("Z")
    for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
