"""Schedules of the link job on a set: `/nz schedule SET daily 02:00` (or `weekly mon
02:00`) runs the link job on SET at that time, in NZBOT_TIMEZONE, as `/nz link SET` would
request it. Slack-free: the listeners make, list and remove schedules; the scheduler's
rounds call `Schedules.tick`, which looks at what is due. Nothing is kept in memory: a
round reads the schedules and their runs from the store, so a restart (even a kill -9)
finds every one where it was.

Each due time of a schedule is one run, recorded (`claim_schedule_run`, unique on the
schedule and the due time) before anything is asked of Alma; its link job carries the
run's id (unique too), so a round after a crash finds the job instead of requesting it
again. A run moves (nzbot/states.py: RunState, RUN_MOVES):

    due -> requested                      its link job queued, as /nz link queues one
       \\-> waiting -> requested           Alma's quota spent: tried again each round
       \\-> skipped                        previous run still going, missed, or set unusable

A skipped or waiting run is said once in the report channel (`said_ts`, like a start
message: a round after a crash says what was not said yet, and nothing twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from alma.errors import AlmaBlocked, AlmaRequestError, BadInput
from nzbot.access import EVERY_MEMBER, Scope
from nzbot.linkjobs import LinkJobs, Scheduled
from nzbot.rounds import run_round
from nzbot.states import RUN_PENDING, RunState
from nzbot.store import LinkJob, Schedule, ScheduleRun, Store
from nzbot.weekly import DAYS, day_of_week, time_of_day

log = logging.getLogger(__name__)

USAGE = "/nz schedule <set ID or name> daily HH:MM, or /nz schedule <set ID or name> weekly DAY HH:MM"


class Every(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class When:
    """When a schedule runs, in the bot's time zone: daily at hour:minute, or weekly on a day."""

    every: Every
    hour: int
    minute: int
    day: int | None = None  # weekly: 0 is Monday

    def encode(self) -> str:
        """"daily 02:00" or "weekly mon 02:00": what the store keeps and people read."""
        day = f" {DAYS[self.day]}" if self.every is Every.WEEKLY and self.day is not None else ""
        return f"{self.every}{day} {self.hour:02d}:{self.minute:02d}"

    @classmethod
    def decode(cls, text: str) -> "When":
        return parse_when(text.split())

    def _runs_on(self, day: date) -> bool:
        return self.every is Every.DAILY or day.weekday() == self.day

    def _at(self, day: date, zone: ZoneInfo) -> datetime:
        # A time a clock change skips (02:30 in spring) is read with the offset before the
        # change, so it runs an hour later that day; a repeated one runs the first time.
        return datetime.combine(day, time(self.hour, self.minute), tzinfo=zone).astimezone(timezone.utc)

    def last_due(self, zone: ZoneInfo, at: datetime) -> datetime:
        """The latest due time at or before `at`, in UTC."""
        today = at.astimezone(zone).date()
        for back in range(9):  # a week back, and a day either side of a clock change
            day = today - timedelta(days=back)
            if self._runs_on(day) and self._at(day, zone) <= at:
                return self._at(day, zone)
        raise AssertionError("a schedule is due at least once a week")

    def next_due(self, zone: ZoneInfo, after: datetime) -> datetime:
        """The first due time after `after`, in UTC."""
        today = after.astimezone(zone).date()
        for ahead in range(-1, 9):
            day = today + timedelta(days=ahead)
            if self._runs_on(day) and self._at(day, zone) > after:
                return self._at(day, zone)
        raise AssertionError("a schedule is due at least once a week")


@dataclass(frozen=True)
class ScheduleRequest:
    """`/nz schedule SET ...` as typed: the set (checked in Alma when the schedule is made) and when."""

    set_ref: str
    when: When


def parse_schedule(words: list[str]) -> ScheduleRequest:
    """The words after `/nz schedule`: SET daily HH:MM, or SET weekly DAY HH:MM (the set's
    name may hold spaces, so the time is read from the end). Raises BadInput, plainly."""
    if len(words) >= 3 and words[-3].lower() == Every.WEEKLY:
        when, set_words = parse_when(words[-3:]), words[:-3]
    elif len(words) >= 2 and words[-2].lower() == Every.DAILY:
        when, set_words = parse_when(words[-2:]), words[:-2]
    elif len(words) >= 2 and words[-2].lower() == Every.WEEKLY:
        raise BadInput("A weekly schedule needs a day before the time, such as weekly mon 02:00.")
    else:
        raise BadInput("Say when it runs, at the end: daily HH:MM, or weekly DAY HH:MM (such as daily 02:00).")
    if not set_words:
        raise BadInput("Say which set, before when it runs: /nz schedule <set ID or name> daily 02:00.")
    return ScheduleRequest(" ".join(set_words), when)


def parse_when(words: list[str]) -> When:
    """["daily", "02:00"] or ["weekly", "mon", "02:00"]."""
    every = words[0].lower() if words else ""
    if every == Every.DAILY and len(words) == 2:
        return When(Every.DAILY, *time_of_day(words[1]))
    if every == Every.WEEKLY and len(words) == 3:
        return When(Every.WEEKLY, *time_of_day(words[2]), day=day_of_week(words[1]))
    raise BadInput("Say when it runs: daily HH:MM, or weekly DAY HH:MM (such as weekly mon 02:00).")


def schedule_words(schedule: Schedule) -> str:
    """"schedule 3, daily 02:00": how a schedule is named wherever it is mentioned."""
    return f"schedule {schedule.id}, {schedule.cadence}"


def duration_words(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"


class ScheduleNotifier(Protocol):
    def schedule_run_said(self, schedule: Schedule, run: ScheduleRun, due_words: str) -> str:
        """Says once, in the report channel, why a schedule's run was skipped or waits;
        returns the message's ts."""


@dataclass(frozen=True)
class Listed:
    """A schedule as `/nz schedules` shows it."""

    schedule: Schedule
    next_run: str  # in the bot's time zone, in words
    last_result: str


class Schedules:
    def __init__(self, store: Store, link_jobs: LinkJobs, notifier: ScheduleNotifier, zone: ZoneInfo,
                 grace: timedelta, on_time: timedelta = timedelta(minutes=2)) -> None:
        """`grace`: how late a run missed while the bot was down may still run. `on_time`:
        how late a round may see a run and count it on time (a round or two), whatever the grace."""
        self.store = store
        self.link_jobs = link_jobs
        self.notifier = notifier
        self.zone = zone
        self.grace = grace
        self.on_time = on_time

    # -- a cataloger asks ----------------------------------------------------------------

    def make(self, request: ScheduleRequest, user: str, channel: str) -> Schedule:
        """Checks the set as /nz link does (it exists, and is a bib set of this member's IZ)
        and keeps the schedule. Bad input raises and keeps nothing."""
        found = self.link_jobs.alma.find_set(request.set_ref)
        schedule = self.store.add_schedule(found.id, found.name, request.when.encode(), user, channel)
        self.store.audit(user, "schedule_made", f"set {found.id}", f"schedule {schedule.id}", schedule.cadence)
        return schedule

    def remove(self, schedule_id: int, user: str, *, scope: Scope) -> bool:
        removed = self.store.remove_schedule(schedule_id, scope=scope)
        if removed:
            self.store.audit(user, "schedule_removed", f"schedule {schedule_id}", "removed")
        return removed

    def listed(self, *, scope: Scope, at: datetime | None = None) -> list[Listed]:
        at = at or datetime.now(timezone.utc)
        schedules = self.store.schedules(scope=scope)
        last = self.store.last_schedule_runs([s.id for s in schedules])
        return [Listed(s, self.local_words(When.decode(s.cadence).next_due(self.zone, at)),
                       self.result_words(last.get(s.id))) for s in schedules]

    def local_words(self, moment: datetime) -> str:
        """A moment in the bot's time zone: "Mon 7 Dec 2026 02:00"."""
        local = moment.astimezone(self.zone)
        return f"{local:%a} {local.day} {local:%b %Y %H:%M}"

    def result_words(self, run: ScheduleRun | None) -> str:
        if run is None:
            return "not run yet"
        due = self.local_words(datetime.fromisoformat(run.due_at))
        if run.state is RunState.REQUESTED and run.link_job is not None:
            job: LinkJob = self.store.link_job(run.link_job)
            return f"{due}: link job {job.id}, {job.state.words}"
        return f"{due}: {run.state.words}" + (f": {run.note}" if run.note else "")

    # -- the scheduler's rounds ----------------------------------------------------------

    def tick(self, at: datetime | None = None) -> None:
        """One round: runs what is due, then says what was skipped or waits (once each)."""
        def fire_due() -> None:  # named: the round's log lines name each step
            self.fire_due(at)

        run_round(log, "schedules", (fire_due, self.say_unsaid), on_alma_error=self.link_jobs.blocked.failed)

    def fire_due(self, at: datetime | None = None) -> None:
        """Records the latest due time of each schedule as a run (once), then settles every
        run not settled yet. Of several due times missed while the bot was down, only the
        latest is looked at: it runs once, or is skipped when later than the grace."""
        at = at or datetime.now(timezone.utc)
        for schedule in self.store.schedules(scope=EVERY_MEMBER):  # this member's view: its own
            due = When.decode(schedule.cadence).last_due(self.zone, at)
            if due > datetime.fromisoformat(schedule.created_at):  # not a time before it was made
                self.store.claim_schedule_run(schedule.id, due.isoformat())
            for run in self.store.schedule_runs(schedule.id, *RUN_PENDING):
                self._settle(schedule, run, at)

    def _settle(self, schedule: Schedule, run: ScheduleRun, at: datetime) -> None:
        job = self.store.link_job_of_run(run.id)  # requested before a crash: recorded now
        if job is not None:
            self.store.move_schedule_run(run.id, RUN_PENDING, RunState.REQUESTED, link_job=job.id)
            return
        late = at - datetime.fromisoformat(run.due_at)
        if run.state is RunState.DUE and late > max(self.grace, self.on_time):
            following = self.local_words(When.decode(schedule.cadence).next_due(self.zone, at))
            self._skip(run, f"nzbot was not running at its time, and it is more than "
                            f"{duration_words(self.grace)} late now (NZBOT_SCHEDULE_GRACE), so it was "
                            f"skipped. The next run is {following}.")
            return
        if self.store.set_has_run_going(schedule.set_id):
            self._skip(run, "the previous run on this set is still going, so this one was skipped.")
            return
        try:
            job = self.link_jobs.request(schedule.set_id, schedule.created_by, schedule.channel,
                                         scheduled=Scheduled(run.id, schedule_words(schedule)))
        except AlmaBlocked as exc:  # the quota spent (or a permission): waits, said once
            self.store.move_schedule_run(run.id, RunState.DUE, RunState.WAITING,
                                         note=f"{exc.message} It runs when Alma allows.")
            return
        except (BadInput, AlmaRequestError) as exc:  # the set is gone, emptied, or no longer bib records
            self._skip(run, f"the set could not be used: {exc}")
            return
        self.store.move_schedule_run(run.id, RUN_PENDING, RunState.REQUESTED, link_job=job.id)

    def _skip(self, run: ScheduleRun, note: str) -> None:
        self.store.move_schedule_run(run.id, RUN_PENDING, RunState.SKIPPED, note=note)

    def say_unsaid(self) -> None:
        """Each skipped or waiting run, said once in the report channel (Slack down: the
        next round says it)."""
        for run in self.store.unsaid_schedule_runs():
            schedule = self.store.schedule(run.schedule_id)
            if schedule is None:  # removed since: nobody to tell about it
                self.store.schedule_run_said(run.id, "")
                continue
            due = self.local_words(datetime.fromisoformat(run.due_at))
            self.store.schedule_run_said(run.id, self.notifier.schedule_run_said(schedule, run, due))
