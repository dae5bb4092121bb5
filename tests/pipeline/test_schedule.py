"""Schedules: stored form, next run in a time zone, and the DST rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.notify_bridge.pipeline.schedule import (
    Schedule,
    ScheduleKind,
    wall_clock_instant,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "daily", "at": "08:30"},
        {"kind": "weekly", "at": "18:00", "weekdays": [0, 4]},
        {"kind": "interval", "hours": 6},
    ],
)
def test_round_trip_through_plain_dicts(data: dict) -> None:
    """What the flow stores comes back as the same schedule and the same dict."""
    schedule = Schedule.from_dict(data)
    assert schedule.to_dict() == data
    assert Schedule.from_dict(schedule.to_dict()) == schedule


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "hourly", "hours": 1},
        {"kind": "daily"},
        {"kind": "daily", "at": "8:30"},
        {"kind": "daily", "at": "24:00"},
        {"kind": "daily", "at": "08:60"},
        {"kind": "daily", "at": "0x:30"},
        {"kind": "daily", "at": 830},
        {"kind": "weekly", "at": "08:00"},
        {"kind": "weekly", "at": "08:00", "weekdays": []},
        {"kind": "weekly", "at": "08:00", "weekdays": [7]},
        {"kind": "weekly", "at": "08:00", "weekdays": ["mon"]},
        {"kind": "weekly", "at": "08:00", "weekdays": "0,1"},
        {"kind": "interval", "hours": 0},
        {"kind": "interval", "hours": 169},
        {"kind": "interval", "hours": 1.5},
        {"kind": "interval", "hours": True},
        {"kind": "interval", "hours": "6"},
    ],
)
def test_malformed_schedules_are_refused(data: dict) -> None:
    """Anything that could never run, or run without bound, is a ValueError."""
    with pytest.raises(ValueError):
        Schedule.from_dict(data)


def test_not_a_mapping_is_refused() -> None:
    """A list or string from a hand-edited store is refused, not crashed on."""
    for value in (["daily"], "daily", None):
        with pytest.raises(ValueError):
            Schedule.from_dict(value)  # type: ignore[arg-type]


def test_daily_next_run_is_strictly_after() -> None:
    """At the due minute itself, the next run is tomorrow."""
    schedule = Schedule.daily(time(8, 30))
    assert schedule.next_run(local(BERLIN, 2026, 6, 1, 8, 0), BERLIN) == local(
        BERLIN, 2026, 6, 1, 8, 30
    )
    assert schedule.next_run(local(BERLIN, 2026, 6, 1, 8, 30), BERLIN) == local(
        BERLIN, 2026, 6, 2, 8, 30
    )


def test_next_run_uses_the_given_zone_not_the_input_offset() -> None:
    """`after` in UTC, schedule in Berlin: 08:30 Berlin is 06:30 UTC in summer."""
    schedule = Schedule.daily(time(8, 30))
    after = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
    run = schedule.next_run(after, BERLIN)
    assert run == datetime(2026, 6, 2, 6, 30, tzinfo=UTC)
    assert run.tzinfo is UTC


def test_spring_forward_runs_once_at_the_end_of_the_gap() -> None:
    """02:30 does not exist on 2026-03-29 in Berlin: the run is at 03:00 CEST, once,
    and the day after is back at 02:30."""
    schedule = Schedule.daily(time(2, 30))
    run = schedule.next_run(local(BERLIN, 2026, 3, 28, 12, 0), BERLIN)
    assert run == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert run.astimezone(BERLIN).time() == time(3, 0)
    following = schedule.next_run(run, BERLIN)
    assert following == local(BERLIN, 2026, 3, 30, 2, 30)
    assert following - run == timedelta(hours=23, minutes=30)


def test_spring_forward_in_new_york() -> None:
    """02:15 on 2026-03-08 in New York → 03:00 EDT (07:00 UTC)."""
    schedule = Schedule.daily(time(2, 15))
    run = schedule.next_run(local(NEW_YORK, 2026, 3, 8, 0, 0), NEW_YORK)
    assert run == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_fall_back_runs_once_at_the_first_occurrence() -> None:
    """01:30 happens twice on 2026-11-01 in New York: the run is the first (EDT),
    and the second reading of 01:30 does not run again."""
    schedule = Schedule.daily(time(1, 30))
    run = schedule.next_run(local(NEW_YORK, 2026, 11, 1, 0, 0), NEW_YORK)
    assert run == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    following = schedule.next_run(run, NEW_YORK)
    assert following == local(NEW_YORK, 2026, 11, 2, 1, 30)
    # Asked from between the two readings, still not the second one.
    between = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00 EST
    assert schedule.next_run(between, NEW_YORK) == following


def test_fall_back_in_berlin() -> None:
    """02:30 twice on 2026-10-25 in Berlin: once, at 02:30 CEST (00:30 UTC)."""
    schedule = Schedule.daily(time(2, 30))
    run = schedule.next_run(local(BERLIN, 2026, 10, 24, 23, 0), BERLIN)
    assert run == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert schedule.next_run(run, BERLIN) == local(BERLIN, 2026, 10, 26, 2, 30)


def test_wall_clock_instant_outside_transitions() -> None:
    """An ordinary day is just the local reading."""
    moment = wall_clock_instant(datetime(2026, 7, 1).date(), time(12, 0), BERLIN)
    assert moment == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_weekly_picks_the_next_listed_day() -> None:
    """Monday and Friday at 18:00; from Friday 19:00 the next is Monday."""
    schedule = Schedule.weekly(time(18, 0), {0, 4})
    friday = local(BERLIN, 2026, 6, 5, 19, 0)
    assert friday.weekday() == 4
    assert schedule.next_run(friday, BERLIN) == local(BERLIN, 2026, 6, 8, 18, 0)
    # Only today's weekday, already past: a week later.
    sunday = Schedule.weekly(time(9, 0), {6})
    after = local(BERLIN, 2026, 6, 7, 10, 0)
    assert schedule.next_run(after, BERLIN).weekday() == 0
    assert sunday.next_run(after, BERLIN) == local(BERLIN, 2026, 6, 14, 9, 0)


def test_weekly_across_spring_forward() -> None:
    """A Sunday 02:30 schedule on the change day runs at 03:00 CEST."""
    schedule = Schedule.weekly(time(2, 30), {6})
    run = schedule.next_run(local(BERLIN, 2026, 3, 25, 0, 0), BERLIN)
    assert run == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_interval_counts_elapsed_time_across_dst() -> None:
    """Every 6 hours stays 6 real hours apart over the fall-back night (the wall
    clock shows 5 hours)."""
    schedule = Schedule.every_hours(6)
    start = local(BERLIN, 2026, 10, 24, 23, 0)
    run = schedule.next_run(start, BERLIN)
    assert run - start == timedelta(hours=6)
    # 23:00 CEST + 6 h = 04:00 CET
    assert run.astimezone(BERLIN).time() == time(4, 0)


def test_missed_runs_do_not_stack() -> None:
    """Down for three days: the next run from the last one is in the past (due now);
    asked again from the catch-up run, the next is in the future."""
    schedule = Schedule.daily(time(8, 0))
    last = local(BERLIN, 2026, 6, 1, 8, 0)
    now = local(BERLIN, 2026, 6, 4, 12, 0)
    assert schedule.next_run(last, BERLIN) < now
    assert schedule.next_run(now, BERLIN) == local(BERLIN, 2026, 6, 5, 8, 0)


def test_naive_after_is_refused() -> None:
    """A naive datetime has no instant; refusing it avoids a silent UTC guess."""
    with pytest.raises(ValueError, match="aware"):
        Schedule.daily(time(8, 0)).next_run(datetime(2026, 6, 1), BERLIN)


def test_descriptions() -> None:
    """Human descriptions in both languages."""
    assert Schedule.daily(time(8, 5)).describe() == "daily at 08:05"
    assert Schedule.weekly(time(18, 0), {4, 0}).describe("ru") == (
        "по дням пн, пт в 18:00"
    )
    assert Schedule.every_hours(1).describe() == "every hour"
    assert Schedule.every_hours(5).describe("ru") == "каждые 5 часов"
    assert Schedule.every_hours(6).kind is ScheduleKind.INTERVAL
