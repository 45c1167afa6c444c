"""Working hours and quiet hours in a brand's time zone. Pure: no I/O, no clock.

Response-time targets count *business* time (a complaint that arrives on Friday night is due
on Monday morning), while reminders count wall-clock time and only *wait* during quiet hours
(the clock keeps running; the message goes out when the quiet hours end). Every computation
is done on aware datetimes: local windows are built in the zone and compared in UTC, so a
daylight-saving change moves the window, not the arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))
MAX_DAYS_AHEAD = 800  # a window that never opens (no days) is a config error, not a loop
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone: write e.g. Europe/Amsterdam") from None


def parse_clock(text: str) -> time:
    """ "09:30" → time(9, 30); "24:00" is the end of the day."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a time of day: write HH:MM")
    return _clock(int(match.group(1)), int(match.group(2)), text)


def parse_range(text: str) -> tuple[time, time]:
    """ "09:00-17:30" → (09:00, 17:30); the end may be earlier (a range over midnight)."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a range of hours: write HH:MM-HH:MM")
    start = _clock(int(match.group(1)), int(match.group(2)), text)
    end = _clock(int(match.group(3)), int(match.group(4)), text)
    if start == end:
        raise ValueError(f"{text!r} is empty: start and end are the same")
    return start, end


def parse_days(text: str) -> frozenset[int]:
    """ "mon-fri" / "mon,wed,fri" / "sat-sun" → weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{text!r}: name days as mon, tue, … sun (e.g. mon-fri)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not days:
        raise ValueError(f"{text!r} names no day")
    return frozenset(days)


def _clock(hour: int, minute: int, text: str) -> time:
    if hour == 24 and minute == 0:
        return time.max
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"{text!r} is not a time of day")
    return time(hour, minute)


@dataclass(frozen=True, slots=True)
class Hours:
    """When the team works: weekdays and a daily window in a zone. No window: always."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    days: frozenset[int] = EVERY_DAY
    start: time | None = None
    end: time | None = None

    @property
    def always(self) -> bool:
        return self.start is None and self.days == EVERY_DAY

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        start = self.start or time.min
        end = self.end or time.max
        opens = datetime.combine(day, start, tzinfo=self.zone)
        if end == time.max:
            closes = datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.zone)
        elif end <= start:  # a window over midnight closes the next day
            closes = datetime.combine(day + timedelta(days=1), end, tzinfo=self.zone)
        else:
            closes = datetime.combine(day, end, tzinfo=self.zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working time after `start`."""
        if self.always:
            return start + timedelta(seconds=seconds)
        left = timedelta(seconds=max(0.0, seconds))
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a window may span midnight
        for _ in range(MAX_DAYS_AHEAD):
            window = self._window(day)
            day += timedelta(days=1)
            if window is None or window[1] <= start:
                continue
            opens = max(window[0], start)
            if opens + left <= window[1]:
                return opens + left
            left -= window[1] - opens
        raise ValueError("working hours never open")

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Seconds of working time between two moments."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        total = 0.0
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            window = self._window(day)
            day += timedelta(days=1)
            if window is None:
                continue
            a, b = max(window[0], start), min(window[1], end)
            if b > a:
                total += (b - a).total_seconds()
        return total


@dataclass(frozen=True, slots=True)
class Quiet:
    """Hours when nobody is paged (a reminder due then waits until they end)."""

    zone: ZoneInfo
    start: time
    end: time

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, at: datetime) -> datetime:
        """When the quiet hours that contain `at` end (`at` itself when they do not)."""
        if not self.contains(at):
            return at
        local = at.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return end.astimezone(UTC)
