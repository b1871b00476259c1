"""Log output: one JSON object per line in production, phone numbers masked on every line.

Code masks numbers itself (`app.channels.phone.mask`); the filter here is the safety net for
the line that forgot, for exception messages and for libraries that log what they were given.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from app.channels.phone import mask

# +254712345678, 254712345678 and 0712345678 (Kenyan mobile, 07/01), then any other E.164.
_KENYAN = re.compile(r"(?<![\w+])(?:\+?254|0)([17]\d{8})(?!\d)")
_E164 = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)")

_LOGGED_FIELDS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def mask_phones(text: str) -> str:
    """Every phone number in `text` masked as +2547****5678."""
    text = _KENYAN.sub(lambda m: mask("+254" + m.group(1)), text)
    return _E164.sub(lambda m: mask(m.group(0)), text)


class PhoneMaskFilter(logging.Filter):
    """Masks numbers in a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it was written
            message = str(record.msg)
        record.msg, record.args = mask_phones(message), None
        return True


class RequestIdFilter(logging.Filter):
    """Adds `request_id`: the web request being answered (or "-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def current_request_id() -> str:
    from flask import g, has_request_context  # logs of workers and commands need no Flask app

    if has_request_context():
        return g.get("request_id", "-")
    return "-"


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id, plus any `extra=` fields and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _LOGGED_FIELDS and key not in entry:
                entry[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return mask_phones(json.dumps(entry, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """The development format, masked too (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return mask_phones(super().format(record))


def build_handler(log_format: str, stream=None) -> logging.Handler:
    """A stream handler with the masking and request id filters and the chosen format."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(PhoneMaskFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.baraza = True  # configure_logging replaces only its own handler
    return handler


def configure_logging(log_format: str = "text",
                      level: int = logging.INFO) -> logging.Handler | None:
    """Route the root logger (and so every library's) through one masked handler.

    Like logging.basicConfig, it leaves a root logger that something else (a test runner, an
    embedding program) already gave a handler alone; it replaces only its own.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "baraza", False)]
    if len(ours) < len(root.handlers):
        return None
    for old in ours:
        root.removeHandler(old)
    handler = build_handler(log_format)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
