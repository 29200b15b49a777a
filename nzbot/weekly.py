"""A day of the week and a time of day as people type them ("mon", "monday", "02:00"): one
reading for the schedules (`/nz schedule ... weekly mon 02:00`) and the digest
(NZBOT_DIGEST=mon 08:00). BadInput says plainly what is wrong."""

from __future__ import annotations

import re

from alma.errors import BadInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Python's weekday() order
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")  # ASCII digits only


def time_of_day(word: str) -> tuple[int, int]:
    """(hour, minute) of "HH:MM" on the 24-hour clock."""
    found = _TIME.fullmatch(word)
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        raise BadInput(f"{word[:20]!r} is not a time of day: give HH:MM on the 24-hour clock, such as 02:00 or 18:30.")
    return int(found[1]), int(found[2])


def day_of_week(word: str) -> int:
    """0 for "mon" or "monday" (any letter case), ... 6 for Sunday."""
    name = word.lower()
    if name in DAYS:
        return DAYS.index(name)
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    raise BadInput(f"{word[:20]!r} is not a day of the week: give mon, tue, wed, thu, fri, sat or sun.")
