"""Quiet hours: campaign messages go out only inside an organization's sending window.

Pure. The window is in the organization's local time (its `timezone`): the organization's own
`campaign_hours` when set, else the CAMPAIGN_HOURS setting. Replies to a resident are never
held, only the campaign lane checks this (and AT's 409 DoNotDisturbRejection, whose retry waits
for the next window: app.services.sms_sender).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

DEFAULT_WINDOW = "08:00-18:00"
_HH_MM = re.compile(r"[0-2][0-9]:[0-5][0-9]")


@dataclass(frozen=True)
class Window:
    """Campaign messages may be sent from `start` (inclusive) to `end` (exclusive), local time;
    equal times mean no quiet hours."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        """"08:00-18:00" (24-hour HH:MM, local time); ValueError for anything else."""
        parts = [part.strip() for part in str(text).split("-")]
        if len(parts) != 2 or not all(_HH_MM.fullmatch(part) for part in parts):
            raise ValueError(f"a sending window looks like 08:00-18:00, got {text!r}")
        try:
            start, end = (time.fromisoformat(part) for part in parts)
        except ValueError as exc:
            raise ValueError(f"a sending window looks like 08:00-18:00, got {text!r}") from exc
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: time) -> bool:
        if self.start == self.end:  # "00:00-00:00": no quiet hours at all
            return True
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # a window across midnight


def in_quiet_hours(now: datetime, tz: str, window: Window | str = DEFAULT_WINDOW) -> bool:
    """True when `now` (timezone-aware) falls outside the sending window in zone `tz`."""
    window = Window.parse(window) if isinstance(window, str) else window
    return not window.contains(now.astimezone(ZoneInfo(tz)).time())


def seconds_until_open(now: datetime, tz: str, window: Window | str = DEFAULT_WINDOW) -> int:
    """Seconds from `now` until the window next opens (0 when it is open)."""
    if not in_quiet_hours(now, tz, window):
        return 0
    return seconds_until_next_window(now, tz, window) or 0  # quiet: there is a next opening


def window_for(own: str | None, default: Window | str = DEFAULT_WINDOW) -> Window:
    """An organization's window: its own `campaign_hours` when set, else `default`. A stored
    value that no longer parses (edited by hand) falls back to `default` with a warning: the
    setting still keeps campaigns inside civil hours."""
    fallback = Window.parse(default) if isinstance(default, str) else default
    if not own:
        return fallback
    try:
        return Window.parse(own)
    except ValueError:
        log.warning("campaign hours %r are not HH:MM-HH:MM: using %s", own, fallback)
        return fallback


def seconds_until_next_window(now: datetime, tz: str,
                              window: Window | str = DEFAULT_WINDOW) -> int | None:
    """Seconds from `now` until the window next opens, after the current one if it is open now
    (a message refused inside it waits for the next); None when there are no quiet hours."""
    window = Window.parse(window) if isinstance(window, str) else window
    if window.start == window.end:
        return None
    local = now.astimezone(ZoneInfo(tz))
    opening = datetime.combine(local.date(), window.start, tzinfo=local.tzinfo)
    while opening <= local:
        opening += timedelta(days=1)
    return max(1, int((opening - local).total_seconds()))
