"""When the weekly digest is due (NZBOT_DIGEST, in NZBOT_TIMEZONE) and which period it
is for. Posting it once per period is bot/digest.py's, through the once-only path; the
scheduler's rounds ask here whether a period is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alma.errors import BadInput
from nzbot.weekly import DAYS, day_of_week, time_of_day

DEFAULT = "mon 08:00"
OFF = "off"


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
    words = text.strip().lower().split() or DEFAULT.split()
    if words == [OFF]:
        return None
    if len(words) != 2:
        raise ValueError(f"must be a weekday and a time such as {DEFAULT!r}, or {OFF!r}, not {text.strip()[:40]!r}")
    try:  # read as a weekly schedule's day and time are
        day, (hour, minute) = day_of_week(words[0]), time_of_day(words[1])
    except BadInput as exc:
        raise ValueError(f"must be a weekday and a time such as {DEFAULT!r}, or {OFF!r}: {str(exc).rstrip('.')}") from None
    return DigestAt(day, time(hour, minute))


def due(at: DigestAt | None, now: datetime, since: datetime, zone: ZoneInfo) -> Period | None:
    """The period whose digest is due at `now`: its moment has passed, and came after
    `since` (when nzbot first looked: a new bot does not post a digest for a moment
    before its time). None when the digest is off or no moment has come."""
    if at is None:
        return None
    moment = at.last_moment(now, zone)
    return Period(moment) if moment > since else None
