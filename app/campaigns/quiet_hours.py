"""Quiet hours: campaign messages go out only inside an organization's sending window.

Pure. The window is in the organization's local time (its `timezone`); replies to a resident
are never held, only the campaign lane checks this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_WINDOW = "08:00-18:00"


@dataclass(frozen=True)
class Window:
    """Campaign messages may be sent from `start` (inclusive) to `end` (exclusive), local time;
    equal times mean no quiet hours."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
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
    window = Window.parse(window) if isinstance(window, str) else window
    if not in_quiet_hours(now, tz, window):
        return 0
    local = now.astimezone(ZoneInfo(tz))
    opening = datetime.combine(local.date(), window.start, tzinfo=local.tzinfo)
    if opening <= local:
        opening += timedelta(days=1)
    return max(1, int((opening - local).total_seconds()))
