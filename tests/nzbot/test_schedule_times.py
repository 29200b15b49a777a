"""The due times of a schedule (nzbot/schedules.py's `When`) and the parsing of
`/nz schedule`: plain datetime arithmetic in a time zone, clock changes included."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from alma.errors import BadInput
from nzbot.schedules import Every, When, duration_words, parse_schedule

UTC = timezone.utc
CHICAGO = ZoneInfo("America/Chicago")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_daily_is_due_today_once_its_time_has_come_and_yesterday_before():
    when = When(Every.DAILY, 2, 0)
    assert when.last_due(ZoneInfo("UTC"), utc(2026, 12, 7, 2, 0)) == utc(2026, 12, 7, 2, 0)
    assert when.last_due(ZoneInfo("UTC"), utc(2026, 12, 7, 1, 59)) == utc(2026, 12, 6, 2, 0)
    assert when.next_due(ZoneInfo("UTC"), utc(2026, 12, 7, 2, 0)) == utc(2026, 12, 8, 2, 0)
    assert when.next_due(ZoneInfo("UTC"), utc(2026, 12, 7, 1, 59)) == utc(2026, 12, 7, 2, 0)


def test_times_are_read_in_the_bots_time_zone():
    when = When(Every.DAILY, 2, 0)  # 02:00 in Chicago (UTC-6 in December) is 08:00 UTC
    assert when.next_due(CHICAGO, utc(2026, 12, 7, 7, 0)) == utc(2026, 12, 7, 8, 0)
    # Kolkata is UTC+05:30: 02:00 there is 20:30 UTC the day before
    assert when.last_due(KOLKATA, utc(2026, 12, 7, 0, 0)) == utc(2026, 12, 6, 20, 30)


def test_weekly_runs_on_its_day_only():
    when = When(Every.WEEKLY, 18, 30, day=0)  # Mondays; 7 Dec 2026 is a Monday
    assert when.next_due(ZoneInfo("UTC"), utc(2026, 12, 8, 0, 0)) == utc(2026, 12, 14, 18, 30)
    assert when.last_due(ZoneInfo("UTC"), utc(2026, 12, 13, 23, 0)) == utc(2026, 12, 7, 18, 30)
    assert when.last_due(ZoneInfo("UTC"), utc(2026, 12, 7, 18, 30)) == utc(2026, 12, 7, 18, 30)


def test_a_time_the_spring_clock_change_skips_runs_an_hour_later_that_day():
    when = When(Every.DAILY, 2, 30)  # 8 March 2026: Chicago goes from 02:00 CST to 03:00 CDT
    due = when.next_due(CHICAGO, utc(2026, 3, 8, 0, 0))
    assert due == utc(2026, 3, 8, 8, 30)  # 03:30 CDT
    assert due.astimezone(CHICAGO).hour == 3
    assert when.next_due(CHICAGO, due) == utc(2026, 3, 9, 7, 30)  # 02:30 CDT the day after


def test_a_time_the_autumn_clock_change_repeats_runs_once():
    when = When(Every.DAILY, 1, 30)  # 1 Nov 2026: 01:00-02:00 happens twice in Chicago
    first = when.next_due(CHICAGO, utc(2026, 11, 1, 0, 0))
    assert first == utc(2026, 11, 1, 6, 30)  # 01:30 CDT, the first time
    assert when.next_due(CHICAGO, first) == utc(2026, 11, 2, 7, 30)  # then tomorrow, not an hour later


def test_each_day_of_a_week_has_exactly_one_due_time():
    when = When(Every.DAILY, 0, 0)
    at, seen = utc(2026, 3, 1, 0, 0), []
    for _ in range(14):
        at = when.next_due(CHICAGO, at)
        seen.append(at.astimezone(CHICAGO).date())
    assert len(set(seen)) == 14 and all(b - a == timedelta(days=1) for a, b in zip(seen, seen[1:]))


@pytest.mark.parametrize("words,set_ref,cadence", [
    ("123 daily 02:00", "123", "daily 02:00"),
    ("Link job test set weekly MON 2:05", "Link job test set", "weekly mon 02:05"),
    ("99 weekly sunday 23:59", "99", "weekly sun 23:59"),
    ("99 Daily 0:00", "99", "daily 00:00"),
])
def test_what_a_cataloger_types_is_read_from_the_end(words, set_ref, cadence):
    request = parse_schedule(words.split())
    assert (request.set_ref, request.when.encode()) == (set_ref, cadence)
    assert When.decode(cadence) == request.when


@pytest.mark.parametrize("words,problem", [
    ("123 daily 25:99", "not a time of day"),
    ("123 daily 24:00", "not a time of day"),
    ("123 daily 2", "not a time of day"),
    ("123 daily ０２:００", "not a time of day"),
    ("123 weekly funday 02:00", "not a day of the week"),
    ("123 weekly 02:00", "needs a day"),
    ("daily 02:00", "which set"),
    ("weekly mon 02:00", "which set"),
    ("123 daily 02:00 please", "say when it runs"),
    ("123 daily mon 02:00", "say when it runs"),
    ("123", "say when it runs"),
    ("", "say when it runs"),
])
def test_malformed_schedules_are_refused_plainly(words, problem):
    with pytest.raises(BadInput) as refused:
        parse_schedule(words.split())
    assert problem in str(refused.value).lower()


def test_durations_in_words():
    assert duration_words(timedelta(hours=6)) == "6 hours"
    assert duration_words(timedelta(hours=1)) == "1 hour"
    assert duration_words(timedelta(minutes=90)) == "90 minutes"
