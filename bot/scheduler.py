"""The bot's clock (APScheduler 3.x, in-process): starts queued link jobs, follows the
running ones, reports the finished ones, runs the schedules that are due, and watches for
runs started in Alma's UI.
Each member institution has its own rounds (consortium mode), so one member's slow or
absent Alma never holds another's up."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from alma.errors import AlmaError
from bot.digest import Digest
from bot.services import Member, Services
from nzbot import version
from nzbot.status import utc
from nzbot.store import DatabaseLost, now

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, services: Services) -> None:
        self.services = services
        members = list(services.members.values())
        # four rounds per member, each on a thread of its own when they coincide
        self.scheduler = BackgroundScheduler(
            daemon=True, executors={"default": ThreadPoolExecutor(max(10, 4 * len(members)))})
        settings = services.settings
        self.watching_since: dict[str, datetime] = {}
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        for member in members:
            code = member.institution.code
            # Runs in Alma's UI are reported from the moment nzbot first watched, not before.
            self.watching_since[code] = datetime.fromisoformat(member.store.watched_since(code, now()))
            suffix = f":{code}" if code else ""
            self.scheduler.add_job(self.unless_lost(member.link_jobs.tick), "interval",
                                   seconds=settings.poll_seconds, id=f"link_jobs{suffix}",
                                   next_run_time=datetime.now(), **common)
            self.scheduler.add_job(self.unless_lost(member.cases.advance), "interval", seconds=settings.poll_seconds,
                                   id=f"cases{suffix}", next_run_time=datetime.now(), **common)
            # what is due is read from the store each round: nothing kept in APScheduler's memory
            self.scheduler.add_job(self.unless_lost(member.schedules.tick), "interval", seconds=settings.poll_seconds,
                                   id=f"schedules{suffix}", next_run_time=datetime.now(), **common)
            self.scheduler.add_job(self.unless_lost(self.discover), "interval", args=[member],
                                   seconds=settings.discover_seconds,
                                   id=f"discover{suffix}", next_run_time=datetime.now(), **common)
        # The weekly digest: looked for each round (its period kept in the database, so a
        # restart neither loses nor repeats it), not a timer that a restart would forget.
        self.digest = Digest(services)
        self.scheduler.add_job(self.unless_lost(self.digest.check), "interval", seconds=settings.poll_seconds,
                               id="digest", next_run_time=datetime.now(), **common)
        self.scheduler.add_job(self.check_database, "interval", seconds=settings.poll_seconds,
                               id="database_file", next_run_time=datetime.now(), **common)

    def check_database(self) -> None:
        """A database file deleted or replaced under the bot is noticed within a round: said
        in one line, and from then on no round runs and every command says so. Otherwise
        the round's heartbeat (nzbot/status.py: `nzbot status`, /healthz)."""
        store = self.services.store
        reason = store.check_file()
        if reason is not None:
            log.error("%s", DatabaseLost(store.path, reason))
        if store.lost is not None:  # said once, above: no heartbeat into a file nobody sees
            return
        slack = getattr(self.services.slack, "answered_at", None)
        store.beat(os.getpid(), version(), utc(self.alma_answered_at()), utc(slack))

    def alma_answered_at(self) -> float | None:
        """time.time() of Alma's last accepted call, any member's."""
        times = [m.alma.http.accepted.get("quota") for m in self.services.members.values()]
        latest = max((t for t in times if t is not None), default=None)
        return None if latest is None else time.time() - (time.monotonic() - latest)

    def unless_lost(self, step):
        """`step`, skipped once the database file is lost (nothing written where nobody sees)."""

        def run(*args) -> None:
            if self.services.store.lost is None:
                try:
                    step(*args)
                except DatabaseLost:  # noticed while the round ran: said once, by check_database
                    pass

        run.__name__ = getattr(step, "__name__", "round")
        run.__qualname__ = getattr(step, "__qualname__", run.__name__)  # what APScheduler's lines name
        return run

    def discover(self, member: Member | None = None) -> None:
        member = member or next(iter(self.services.members.values()))
        code = member.institution.code
        try:
            since = member.link_jobs.discover_ui_runs(self.watching_since[code])
            if since != self.watching_since[code]:  # moves forward: each round costs the same
                member.store.watch_moved(code, since.isoformat())
                self.watching_since[code] = since
        except AlmaError as exc:  # Alma down or quota low: the next round tries again
            member.link_jobs.blocked.failed("watching Alma for link jobs", exc)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
