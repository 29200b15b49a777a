"""Is the bot alive, and how is it doing? What `nzbot status` (any process, reading the
database) and `GET /healthz` (the bot itself, in HTTP mode) say: whether the database can be
written, how long since the bot's last round (its scheduler alive), since Alma and Slack last
answered it, and the queue sizes.

The bot writes a heartbeat each round (`Store.beat`). Healthy means the database can be
written and the rounds run; Alma or Slack being down is reported, not judged: restarting
the bot would not bring them back.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from nzbot.access import EVERY_MEMBER
from nzbot.states import UNSETTLED, JobState
from nzbot.store import Store

# A round later than this many poll intervals (and a little more) means the rounds stopped.
LATE_ROUNDS = 3
LATE_SLACK_SECONDS = 30.0

WAITING_JOBS = (JobState.QUEUED, JobState.STARTING, JobState.RUNNING, JobState.FINISHED, JobState.REPORTING)


@dataclass(frozen=True)
class Status:
    healthy: bool
    problems: tuple[str, ...]
    database_writable: bool
    pid: int | None
    version: str
    seconds_since_round: float | None
    seconds_since_alma: float | None
    seconds_since_slack: float | None
    link_jobs_waiting: int  # queued, starting, running or being reported
    cases_unsettled: int  # open, deciding, linking or failed

    def as_dict(self) -> dict:
        return asdict(self)


def writable(path: str) -> bool:
    """The database takes a write lock now (WAL: beside the running bot), and gives it back."""
    try:
        with sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        return True
    except sqlite3.Error:
        return False


def status_of(store: Store, poll_seconds: float, *, at: float | None = None) -> Status:
    at = time.time() if at is None else at
    beat = store.heartbeat()
    problems = []
    can_write = writable(store.path)
    if not can_write:
        problems.append(f"the database {store.path} cannot be written")
    since_round = _age(beat.round_at if beat else None, at)
    if since_round is None:
        problems.append("the bot has never run a round on this database")
    elif since_round > LATE_ROUNDS * poll_seconds + LATE_SLACK_SECONDS:
        problems.append(f"the bot's last round was {since_round:.0f} s ago (rounds every {poll_seconds:g} s): "
                        "it is stopped or stuck")
    jobs = store.link_job_counts(scope=EVERY_MEMBER)
    cases = store.case_counts(scope=EVERY_MEMBER)
    return Status(
        healthy=not problems, problems=tuple(problems), database_writable=can_write,
        pid=beat.pid if beat else None, version=beat.version if beat else "",
        seconds_since_round=since_round,
        seconds_since_alma=_age(beat.alma_ok_at if beat else None, at),
        seconds_since_slack=_age(beat.slack_ok_at if beat else None, at),
        link_jobs_waiting=sum(jobs.get(state, 0) for state in WAITING_JOBS),
        cases_unsettled=sum(cases.get(state, 0) for state in UNSETTLED))


def _age(stamp: str | None, at: float) -> float | None:
    if not stamp:
        return None
    return max(0.0, round(at - datetime.fromisoformat(stamp).timestamp(), 1))


def utc(wall: float | None) -> str | None:
    """A time.time() as the ISO text the heartbeat keeps."""
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="seconds") if wall else None


def status_lines(found: Status) -> list[str]:
    def ago(seconds: float | None) -> str:
        return "never" if seconds is None else f"{seconds:.0f} s ago"

    return [
        f"nzbot {'is healthy' if found.healthy else 'needs attention'}"
        + (f" (pid {found.pid}, version {found.version})" if found.pid else ""),
        *(f"  problem: {p}" for p in found.problems),
        f"  database writable: {'yes' if found.database_writable else 'no'}",
        f"  last round: {ago(found.seconds_since_round)}",
        f"  Alma last answered: {ago(found.seconds_since_alma)}",
        f"  Slack last answered: {ago(found.seconds_since_slack)}",
        f"  link jobs waiting or running: {found.link_jobs_waiting:,}; cases not settled: {found.cases_unsettled:,}",
    ]

