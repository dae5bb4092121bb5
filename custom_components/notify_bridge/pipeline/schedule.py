"""Schedules of digests and memories: daily, weekly on days, or every N hours.

A schedule is stored as a plain dict (`Schedule.to_dict` / `Schedule.from_dict`):

    {"kind": "daily", "at": "08:30"}
    {"kind": "weekly", "at": "18:00", "weekdays": [0, 4]}   # 0 = Monday
    {"kind": "interval", "hours": 6}

`next_run(after, tz)` returns the first run strictly after `after` for the wall clock
of `tz` (an IANA zone, e.g. `zoneinfo.ZoneInfo("Europe/Berlin")`), as an aware UTC
datetime: a local datetime inside a repeated hour never compares equal to one of
another zone (PEP 495), so instants are handed out in UTC only.

Daylight saving rules (wall-clock schedules, daily and weekly):
- A time that does not exist that day (spring forward: 02:30 in Europe/Berlin on the
  last Sunday of March) runs once, at the first valid instant after the gap: 03:00.
- A time that exists twice (fall back: 02:30 in Berlin, 01:30 in New York) runs once,
  at its first occurrence (the earlier instant, before the clocks go back).
Interval schedules count real elapsed time (UTC): "every 6 hours" stays 6 hours
apart across a DST change, so its wall-clock times shift by the change.

Missed runs (Home Assistant was down at the due time): the caller asks for
`next_run(last_run, tz)`; a result in the past means "due now". It runs once, then the
caller asks again from the run's own time, so missed runs never stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from .i18n import DEFAULT_LANGUAGE, format_time, text

# "every N hours" allows 1 hour up to one week.
MIN_INTERVAL_HOURS = 1
MAX_INTERVAL_HOURS = 168
# A wall-clock gap (DST) is never longer than this; the search for its end is bounded.
_MAX_GAP = timedelta(hours=3)


class ScheduleKind(StrEnum):
    """How a schedule repeats."""

    DAILY = "daily"
    WEEKLY = "weekly"
    INTERVAL = "interval"


@dataclass(frozen=True, slots=True)
class Schedule:
    """One schedule; build with `daily`, `weekly`, `every_hours` or `from_dict`."""

    kind: ScheduleKind
    at: time | None = None
    # Days (0 = Monday) of a weekly schedule.
    weekdays: frozenset[int] = frozenset()
    hours: int | None = None

    def __post_init__(self) -> None:
        """Refuse a schedule that could never run (or run without bound)."""
        if self.kind is ScheduleKind.INTERVAL:
            if self.hours is None or not (
                MIN_INTERVAL_HOURS <= self.hours <= MAX_INTERVAL_HOURS
            ):
                raise ValueError(
                    f"interval must be {MIN_INTERVAL_HOURS} to {MAX_INTERVAL_HOURS} hours"
                )
            return
        if self.at is None:
            raise ValueError("a daily or weekly schedule needs a time")
        if self.kind is ScheduleKind.WEEKLY and (
            not self.weekdays or not self.weekdays <= frozenset(range(7))
        ):
            raise ValueError("a weekly schedule needs weekdays 0 (Monday) to 6")

    @classmethod
    def daily(cls, at: time) -> Schedule:
        """Return a schedule that runs every day at a local time."""
        return cls(ScheduleKind.DAILY, at=at.replace(second=0, microsecond=0))

    @classmethod
    def weekly(cls, at: time, weekdays: set[int] | frozenset[int]) -> Schedule:
        """Return a schedule that runs on some weekdays (0 = Monday) at a local time."""
        return cls(
            ScheduleKind.WEEKLY,
            at=at.replace(second=0, microsecond=0),
            weekdays=frozenset(weekdays),
        )

    @classmethod
    def every_hours(cls, hours: int) -> Schedule:
        """Return a schedule that runs every `hours` hours of elapsed time."""
        return cls(ScheduleKind.INTERVAL, hours=hours)

    # Stored form

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form (JSON-friendly, for subentry data and Store)."""
        if self.kind is ScheduleKind.INTERVAL:
            return {"kind": self.kind.value, "hours": self.hours}
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "at": self._clock().strftime("%H:%M"),
        }
        if self.kind is ScheduleKind.WEEKLY:
            data["weekdays"] = sorted(self.weekdays)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Parse the plain-dict form; raises ValueError on anything malformed."""
        if not isinstance(data, Mapping):
            raise ValueError("schedule is not a mapping")
        try:
            kind = ScheduleKind(str(data.get("kind")))
        except ValueError as err:
            raise ValueError(f"unknown schedule kind {data.get('kind')!r}") from err
        if kind is ScheduleKind.INTERVAL:
            return cls.every_hours(_strict_int(data.get("hours"), "hours"))
        at = parse_clock(data.get("at"))
        if kind is ScheduleKind.DAILY:
            return cls.daily(at)
        raw = data.get("weekdays")
        if not isinstance(raw, list | tuple):
            raise ValueError("weekdays must be a list of 0 to 6")
        return cls.weekly(at, {_strict_int(day, "weekday") for day in raw})

    # Time

    def next_run(self, after: datetime, tz: tzinfo) -> datetime:
        """Return the first run strictly after `after` (aware), in UTC."""
        if after.tzinfo is None:
            raise ValueError("after must be timezone-aware")
        if self.kind is ScheduleKind.INTERVAL:
            return after.astimezone(UTC) + timedelta(hours=self.hours or 0)
        at = self._clock()
        start = after.astimezone(tz).date()
        # Eight days cover a weekly schedule whose only day is today, already past.
        for offset in range(9):
            day = start + timedelta(days=offset)
            if self.kind is ScheduleKind.WEEKLY and day.weekday() not in self.weekdays:
                continue
            candidate = wall_clock_instant(day, at, tz)
            if candidate > after:
                return candidate
        raise AssertionError("unreachable: a valid schedule runs within 8 days")

    def _clock(self) -> time:
        """Return the time of a daily or weekly schedule (checked at creation)."""
        if self.at is None:
            raise ValueError("a daily or weekly schedule needs a time")
        return self.at

    def describe(self, language: str = DEFAULT_LANGUAGE) -> str:
        """Return a short human description ("daily at 08:30")."""
        if self.kind is ScheduleKind.INTERVAL:
            return text("schedule.interval", language, count=self.hours)
        clock = format_time(self._clock(), language)
        if self.kind is ScheduleKind.DAILY:
            return text("schedule.daily", language, time=clock)
        days = ", ".join(
            text(f"weekday.{day}", language) for day in sorted(self.weekdays)
        )
        return text("schedule.weekly", language, days=days, time=clock)


def parse_clock(value: Any) -> time:
    """Parse "HH:MM" (24-hour) strictly; raises ValueError."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f"time must be HH:MM, not {value!r}")
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"time must be HH:MM, not {value!r}")
    return time(int(hours), int(minutes))


def wall_clock_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """Return the instant (UTC) a local wall-clock time names on a day, by the DST
    rules above: a skipped time → the end of the gap; a repeated time → its first."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    if _exists(first, naive):
        # fold=0 is the earlier of two readings of a repeated time.
        return first.astimezone(UTC)
    # In a gap: fold=1 reads the time with the offset after the change, which lands
    # before the gap's end; the end is the first instant whose wall clock is ≥ `at`.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = low + _MAX_GAP
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _exists(moment: datetime, naive: datetime) -> bool:
    """Return whether a local reading survives a round trip through UTC."""
    return (
        moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) == naive
    )


def _strict_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, not {value!r}")
    return value
