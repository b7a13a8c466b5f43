"""When things may be sent: delays, quiet hours and working hours, in local time.

All instants in and out are timezone-aware; arithmetic that means "the same time of day N
days later" is done on the local wall clock, so a reminder three days after 14:00 comes at
14:00 across a daylight-saving change, while a two-hour delay is two real hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schemas.policy import QuietHours, Timing, WorkingHours


def _localize(day: date, at: time, zone: ZoneInfo, fold: int = 0) -> datetime:
    """A local wall-clock time as an instant. A time inside the spring-forward gap is
    read with the offset before the change, which lands just after the gap; a time in the
    autumn's repeated hour is its first occurrence unless ``fold=1``."""
    return datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC)


def in_quiet_hours(local: time, quiet: QuietHours) -> bool:
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def outside_quiet_hours(instant: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """``instant``, or the end of the quiet hours it falls in."""
    if quiet is None:
        return instant
    local = instant.astimezone(zone)
    if not in_quiet_hours(local.time(), quiet):
        return instant
    end_day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        end_day += timedelta(days=1)
    end = _localize(end_day, quiet.end, zone)
    if end <= instant:  # inside the autumn's repeated hour: the end is its second occurrence
        end = _localize(end_day, quiet.end, zone, fold=1)
    return end


def add_calendar(instant: datetime, delta: timedelta, zone: ZoneInfo) -> datetime:
    """Whole days on the local calendar, the rest as elapsed time."""
    days = timedelta(days=delta.days)
    rest = delta - days
    local = instant.astimezone(zone)
    moved = _localize(local.date() + days, local.time(), zone) if days else instant
    return moved + rest


def offer_due(reported_at: datetime, now: datetime, timing: Timing) -> datetime:
    """The delay after the report, never in the past, never in quiet hours."""
    earliest = max(reported_at + timing.delay, now)
    return outside_quiet_hours(earliest, timing.quiet_hours, timing.zone)


def reminder_due(sent_at: datetime, timing: Timing) -> datetime:
    due = add_calendar(sent_at, timing.reminder.after, timing.zone)
    return outside_quiet_hours(due, timing.quiet_hours, timing.zone)


def add_working_hours(
    start: datetime, duration: timedelta, hours: WorkingHours, zone: ZoneInfo
) -> datetime:
    """The instant ``duration`` of working time after ``start`` (e.g. first contact within
    24 working hours of an acceptance on a Friday afternoon lands mid next week)."""
    remaining = duration
    working_days = {day.number for day in hours.days}
    day = start.astimezone(zone).date()
    cursor = start
    for _ in range(3660):  # ten years of days: a bound, never reached by a valid policy
        if day.weekday() in working_days:
            opens = _localize(day, hours.start, zone)
            closes = _localize(day, hours.end, zone)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        cursor = _localize(day, time(0, 0), zone)
    raise ValueError("working hours never add up to the duration")
