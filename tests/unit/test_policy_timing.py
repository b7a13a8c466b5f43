"""Quiet hours, reminders and working hours in Europe/Oslo, across daylight-saving changes.

2026: clocks go forward on 29 March (02:00 CET → 03:00 CEST) and back on 25 October
(03:00 CEST → 02:00 CET).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.policy import QuietHours, Reminder, Timing, WorkingHours
from streams.policy.timing import (
    add_working_hours,
    offer_due,
    outside_quiet_hours,
    reminder_due,
)

OSLO = ZoneInfo("Europe/Oslo")
NIGHT = QuietHours(start=time(21, 0), end=time(7, 30))


def local(*parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=OSLO).replace(fold=fold)  # type: ignore[misc]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # an ordinary night: held until 07:30 local
        (local(2026, 11, 20, 22, 0), utc(2026, 11, 21, 6, 30)),
        # outside quiet hours: unchanged
        (local(2026, 11, 20, 12, 0), utc(2026, 11, 20, 11, 0)),
        (local(2026, 11, 20, 7, 30), utc(2026, 11, 20, 6, 30)),
        # the night the clocks go forward: 07:30 is CEST (UTC+2), one hour earlier in UTC
        (local(2026, 3, 28, 22, 0), utc(2026, 3, 29, 5, 30)),
        (local(2026, 3, 29, 1, 59), utc(2026, 3, 29, 5, 30)),
        # the night the clocks go back: 07:30 is CET (UTC+1)
        (local(2026, 10, 24, 23, 0), utc(2026, 10, 25, 6, 30)),
        (local(2026, 10, 25, 2, 30, fold=1), utc(2026, 10, 25, 6, 30)),
    ],
)
def test_night_quiet_hours_across_dst(at: datetime, expected: datetime) -> None:
    assert outside_quiet_hours(at, NIGHT, OSLO) == expected


def test_quiet_hours_ending_inside_the_spring_gap_end_just_after_it() -> None:
    quiet = QuietHours(start=time(22, 0), end=time(2, 30))  # 02:30 does not exist on 29 March
    due = outside_quiet_hours(local(2026, 3, 29, 1, 0), quiet, OSLO)
    assert due == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert due.astimezone(OSLO).hour == 3


def test_quiet_hours_ending_inside_the_repeated_autumn_hour_never_go_back_in_time() -> None:
    quiet = QuietHours(start=time(1, 0), end=time(2, 30))
    second_pass = local(2026, 10, 25, 2, 15, fold=1)  # 01:15 UTC, after the first 02:30
    due = outside_quiet_hours(second_pass, quiet, OSLO)
    assert due == utc(2026, 10, 25, 1, 30)  # 02:30 CET, the second occurrence
    assert due > second_pass


def timing(**changes: object) -> Timing:
    return Timing.model_validate({"delay": "2h", **changes})


def test_offer_waits_for_the_delay_and_then_for_morning() -> None:
    reported = local(2026, 11, 20, 20, 0)  # 20:00 + 2 h = 22:00: quiet
    assert offer_due(reported, reported, timing()) == utc(2026, 11, 21, 6, 30)
    assert offer_due(local(2026, 11, 20, 9, 0), local(2026, 11, 20, 9, 0), timing()) == utc(
        2026, 11, 20, 10, 0
    )


def test_offer_is_never_due_in_the_past() -> None:
    reported = local(2026, 11, 20, 9, 0)
    now = local(2026, 11, 20, 15, 0)
    assert offer_due(reported, now, timing()) == now


def test_reminder_keeps_the_time_of_day_across_the_spring_change() -> None:
    policy_timing = timing(reminder=Reminder(after=timedelta(days=3)))
    sent = local(2026, 3, 27, 14, 0)  # Friday 14:00 CET
    due = reminder_due(sent, policy_timing)
    assert due.astimezone(OSLO) == local(2026, 3, 30, 14, 0)  # Monday 14:00 CEST
    assert due - sent == timedelta(hours=71)


def test_reminder_is_held_out_of_quiet_hours() -> None:
    sent = local(2026, 10, 22, 22, 30)  # three days later is 22:30: quiet until 07:30
    due = reminder_due(sent, timing(reminder=Reminder(after=timedelta(days=3))))
    assert due == local(2026, 10, 26, 7, 30).astimezone(UTC)  # after the autumn change


def test_first_contact_within_working_hours() -> None:
    hours = WorkingHours()  # Monday to Friday, 08:00 to 16:00
    friday_afternoon = local(2026, 11, 20, 15, 0)
    due = add_working_hours(friday_afternoon, timedelta(hours=24), hours, OSLO)
    assert due.astimezone(OSLO) == local(2026, 11, 25, 15, 0)  # 1 + 8 + 8 + 7 hours
    saturday = local(2026, 11, 21, 10, 0)
    assert add_working_hours(saturday, timedelta(hours=1), hours, OSLO).astimezone(OSLO) == local(
        2026, 11, 23, 9, 0
    )
