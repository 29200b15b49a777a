"""A member's figures, week by week, from what nzbot holds (no Alma call): link-job runs
and the records they linked, imported, skipped and multi-matched (their reports'
counters, nzbot/report.py's kinds); cases opened, decided (a pick, a new record, a
skip; a re-check decides nothing), decided as suggested, and still open at each week's
end; and the cases waiting now, with the oldest one's age.

Weeks are ISO weeks, Monday first, in NZBOT_TIMEZONE. The store counts each family of
figures in one query for all the weeks (nzbot/store.py `run_figures`, `case_figures`,
`waiting_cases`); this module lays out the weeks and puts the rows in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Sequence
from zoneinfo import ZoneInfo

from nzbot.access import Scope
from nzbot.facts import AlmaFacts, counter_kinds
from nzbot.settings import BotSettings
from nzbot.store import Store

DEFAULT_WEEKS = 4
MAX_WEEKS = 26  # half a year: enough for a trend, still one screen


@dataclass(frozen=True)
class Week:
    """One ISO week: its Monday (local) and the instants it runs between, in UTC."""

    monday: date
    start: datetime
    stop: datetime

    @property
    def label(self) -> str:
        """"2024-W19", as ISO numbers weeks."""
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"


@dataclass(frozen=True)
class WeekFigures:
    """One member's figures for one week (zeros when nothing happened)."""

    week: Week
    runs: int = 0
    linked: int = 0
    imported: int = 0
    skipped: int = 0
    multi_matched: int = 0
    opened: int = 0  # cases opened this week
    decided: int = 0  # cases decided this week
    accepted: int = 0  # of those, decided for the suggested pick
    open_at_end: int = 0  # cases opened by the week's end and not decided by then


# The counted figures of a week (all but `week`), in the order rows carry them.
RUN_FIGURES = ("runs", "linked", "imported", "skipped", "multi_matched")
CASE_FIGURES = ("opened", "decided", "accepted", "open_at_end")


@dataclass(frozen=True)
class MemberFigures:
    """One member's weeks, oldest first, and its cases waiting now."""

    code: str
    label: str  # "" in single-institution mode
    weeks: tuple[WeekFigures, ...]
    waiting: int = 0  # cases open or failed now: the Program Manager's to decide
    oldest_waiting_since: datetime | None = None

    def total(self, name: str) -> int:
        """A counted figure summed over the weeks (open_at_end has no sum: it is a level)."""
        return sum(getattr(w, name) for w in self.weeks)

    def oldest_waiting_days(self, now: datetime) -> int | None:
        if self.oldest_waiting_since is None:
            return None
        return max(0, (now - self.oldest_waiting_since).days)


@dataclass(frozen=True)
class Figures:
    weeks: tuple[Week, ...]
    members: tuple[MemberFigures, ...]
    as_of: datetime
    zone: str

    @property
    def consortium(self) -> MemberFigures:
        """Every member's figures added up, week by week (the oldest waiting case of all)."""
        summed = tuple(WeekFigures(week, **{name: sum(getattr(m.weeks[i], name) for m in self.members)
                                            for name in (*RUN_FIGURES, *CASE_FIGURES)})
                       for i, week in enumerate(self.weeks))
        oldest = [m.oldest_waiting_since for m in self.members if m.oldest_waiting_since is not None]
        return MemberFigures(code="", label="", weeks=summed, waiting=sum(m.waiting for m in self.members),
                             oldest_waiting_since=min(oldest) if oldest else None)


def parse_weeks(words: Sequence[str]) -> int:
    """`/nz stats [WEEKS]`: how many weeks, DEFAULT_WEEKS with none. ValueError in words."""
    if not words:
        return DEFAULT_WEEKS
    text = words[0]
    if len(words) > 1 or not (text.isascii() and text.isdigit()):
        raise ValueError(f"takes a number of weeks (1 to {MAX_WEEKS}), such as `4`, or nothing for {DEFAULT_WEEKS}")
    weeks = int(text)
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"shows 1 to {MAX_WEEKS} weeks, not {weeks}")
    return weeks


def weeks_until(last: date, count: int, zone: ZoneInfo) -> tuple[Week, ...]:
    """`count` ISO weeks, oldest first, the last one holding the day `last`; each from its
    Monday 00:00 to the next, local time (a week with a clock change is 167 or 169 hours)."""
    monday = last - timedelta(days=last.weekday())
    mondays = [monday - timedelta(weeks=k) for k in range(count - 1, -2, -1)]  # one more: the last stop
    instants = [datetime.combine(m, time(0), zone).astimezone(timezone.utc) for m in mondays]
    return tuple(Week(m, a, b) for m, a, b in zip(mondays, instants, instants[1:]))


def figures(store: Store, settings: BotSettings, count: int, *, scope: Scope, now: datetime,
            last_day: date | None = None) -> Figures:
    """The figures of the members within `scope`, for `count` weeks in NZBOT_TIMEZONE up to
    the one holding `last_day` (today's, by default: the week in progress)."""
    zone = settings.zone
    weeks = weeks_until(last_day or now.astimezone(zone).date(), count, zone)
    spans = [(w.start.isoformat(), w.stop.isoformat()) for w in weeks]
    runs = _by_member_week(store.run_figures(spans, counter_kinds(AlmaFacts.of(store)), scope=scope))
    cases = _by_member_week(store.case_figures(spans, scope=scope))
    waiting = {code: (n, oldest) for code, n, oldest in store.waiting_cases(scope=scope)}
    shown = [m for m in settings.institutions if scope.every_member or m.code == scope.code]
    return Figures(
        weeks=weeks,
        members=tuple(MemberFigures(
            code=m.code, label=m.label,
            weeks=tuple(WeekFigures(week, **dict(zip(RUN_FIGURES, runs.get((m.code, i), ()))),
                                    **dict(zip(CASE_FIGURES, cases.get((m.code, i), ()))))
                        for i, week in enumerate(weeks)),
            waiting=waiting.get(m.code, (0, None))[0],
            oldest_waiting_since=_instant(waiting.get(m.code, (0, None))[1]),
        ) for m in shown),
        as_of=now, zone=zone.key)


def _by_member_week(rows) -> dict[tuple[str, int], tuple[int, ...]]:
    """(institution, week index, figures...) rows by (institution, week index)."""
    return {(code, index): tuple(int(v or 0) for v in values) for code, index, *values in rows}


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

