"""When the weekly digest is due (NZBOT_DIGEST, in NZBOT_TIMEZONE) and which period it
is for. Posting it once per period is bot/digest.py's, through the once-only path; the
scheduler's rounds ask here whether a period is due."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT = "mon 08:00"
OFF = "off"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE = re.compile(r"([a-z]{3})[a-z]*\s+([0-9]{1,2}):([0-9]{2})")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class DigestAt:
    """A weekday (0 Monday) and a local time: the digest's moment each week."""

    weekday: int
    at: time

    def __str__(self) -> str:
        return f"{DAYS[self.weekday]} {self.at:%H:%M}"

    def last_moment(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The latest of the digest's moments at or before `now`, in `zone`."""
        local = now.astimezone(zone)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        moment = datetime.combine(day, self.at, zone)
        return moment if moment <= local else datetime.combine(day - timedelta(weeks=1), self.at, zone)


@dataclass(frozen=True)
class Period:
    """A digest's period: the ISO week of its moment. It shows the whole weeks before it."""

    moment: datetime  # local

    @property
    def key(self) -> str:
        year, week, _ = self.moment.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def last_day_shown(self) -> date:
        """The Sunday before the moment's week: the digest's last week is the one that ended."""
        return self.moment.date() - timedelta(days=self.moment.weekday() + 1)


def parse(text: str) -> DigestAt | None:
    """NZBOT_DIGEST: "mon 08:00" (a weekday, its first three letters or whole, and a
    24-hour time), or "off" (None). ValueError saying what is wrong."""
    value = " ".join(text.strip().lower().split()) or DEFAULT
    if value == OFF:
        return None
    found = _SCHEDULE.fullmatch(value)
    day = found.group(1) if found else ""
    if not found or day not in DAYS or (len(value.split()[0]) > 3 and value.split()[0] not in _FULL_DAYS):
        raise ValueError(f"must be a weekday and a time such as {DEFAULT!r}, or {OFF!r}, not {text.strip()[:40]!r}")
    hour, minute = int(found.group(2)), int(found.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"has no such time as {found.group(2)}:{found.group(3)} (00:00 to 23:59)")
    return DigestAt(DAYS.index(day), time(hour, minute))


def due(at: DigestAt | None, now: datetime, since: datetime, zone: ZoneInfo) -> Period | None:
    """The period whose digest is due at `now`: its moment has passed, and came after
    `since` (when nzbot first looked: a new bot does not post a digest for a moment
    before its time). None when the digest is off or no moment has come."""
    if at is None:
        return None
    moment = at.last_moment(now, zone)
    return Period(moment) if moment > since else None
