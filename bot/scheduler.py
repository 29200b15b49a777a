"""The bot's clock (APScheduler 3.x, in-process): starts queued link jobs, follows the
running ones, reports the finished ones, runs the schedules that are due, and watches for
runs started in Alma's UI.
Each member institution has its own rounds (consortium mode), run on threads every member
shares, each member a lane taken in turn: one member's slow or absent Alma makes its own
rounds late, never another's, and the threads are as many for 100 members as for one."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from alma.calls import FairPool
from alma.errors import AlmaError
from bot.digest import Digest
from bot.services import Member, Services
from nzbot import version
from nzbot.status import utc
from nzbot.store import DatabaseLost, now

log = logging.getLogger(__name__)

ROUND_KINDS = ("link_jobs", "schedules", "discover")  # a member's, each one at a time (and "cases")
BOT = None  # the lane of the bot's own rounds (the database's check, the digest)


# How many threads run the members' rounds, whatever the number of members: a round
# mostly waits on Alma (150 ms a call), and a member's rounds are never more than one
# of each kind at a time.
ROUND_THREADS = 8
# The cases' rounds post to the Program Manager's one place, at Slack's pace of about a
# post a second: a hundred members' queue messages take a hundred seconds however they are
# sent. They have threads of their own, so that waiting their turn there never holds
# the link-job rounds up (seen as a 50 s stall at 100 members in bench/consortium.py).
CASE_ROUND_THREADS = 3
# The bot's own rounds (the database's check and heartbeat, the digest) on a thread of
# their own: members' long re-checks filling the round threads must not stale the
# heartbeat that `nzbot status` and /healthz read.
BOT_ROUND_THREADS = 1


class Scheduler:
    """APScheduler's jobs only hand the rounds to bounded pools (each member a lane, taken
    in turn: the members' rounds, their cases' rounds, the bot's own) and return at once,
    so they never overlap and never warn. A round
    still waiting or running when its next turn comes is not handed over again: rounds
    coalesce, and a member's long re-check makes its own next round late, nobody else's."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.members = list(services.members.values())
        self.pool = FairPool(ROUND_THREADS, per_lane=len(ROUND_KINDS), name="nzbot-round")
        self.case_pool = FairPool(CASE_ROUND_THREADS, per_lane=1, name="nzbot-cases")
        self.bot_pool = FairPool(BOT_ROUND_THREADS, per_lane=BOT_ROUND_THREADS, name="nzbot-own")
        self._handed: set[tuple[str | None, str]] = set()  # (lane, kind) waiting or running
        self._handing = threading.Lock()
        self.scheduler = BackgroundScheduler(daemon=True, executors={"default": ThreadPoolExecutor(1)})
        settings = services.settings
        self.watching_since: dict[str, datetime] = {}
        for member in self.members:
            code = member.institution.code
            # Runs in Alma's UI are reported from the moment nzbot first watched, not before.
            self.watching_since[code] = datetime.fromisoformat(member.store.watched_since(code, now()))
        # The weekly digest: looked for each round (its period kept in the database, so a
        # restart neither loses nor repeats it), not a timer that a restart would forget.
        self.digest = Digest(services)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None, "next_run_time": datetime.now()}
        self.scheduler.add_job(self.every_round, "interval", seconds=settings.poll_seconds, id="rounds", **common)
        self.scheduler.add_job(self.every_discovery, "interval", seconds=settings.discover_seconds,
                               id="discover", **common)

    def every_round(self) -> None:
        """Each member's link jobs, cases and schedules; the bot's own: the database's
        check (run even when the file is lost: it says so) and the digest."""
        self.hand(BOT, "database", self.check_database, unless_lost=False)
        self.hand(BOT, "digest", self.digest.check)
        for member in self.members:
            # what is due is read from the store each round: nothing kept in APScheduler's memory
            code = member.institution.code
            self.hand(code, "link_jobs", member.link_jobs.tick)
            self.hand(code, "cases", member.cases.advance)
            self.hand(code, "schedules", member.schedules.tick)

    def every_discovery(self) -> None:
        for member in self.members:
            self.hand(member.institution.code, "discover", lambda m=member: self.discover(m))

    @property
    def busy(self) -> bool:
        """Whether a round handed over is still waiting or running."""
        with self._handing:
            return bool(self._handed)

    def hand(self, lane: str | None, kind: str, step: Callable[[], None], unless_lost: bool = True) -> None:
        """`step` to its lane (a member's code; BOT for the bot's own rounds), unless the
        last one of its kind there is still waiting or running."""
        key = (lane, kind)
        pool = self.bot_pool if lane is BOT else self.case_pool if kind == "cases" else self.pool
        with self._handing:
            if key in self._handed or pool.closed:
                return
            self._handed.add(key)
        round_ = self.unless_lost(step) if unless_lost else step

        def run() -> None:
            try:
                round_()
            except Exception:  # a round's own steps log theirs (nzbot.rounds): this is a bug
                log.exception("%s round failed", kind)
            finally:
                with self._handing:
                    self._handed.discard(key)

        pool.submit(lane, run)

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

    def stop(self, grace_seconds: float | None = None) -> None:
        """No more rounds handed over; waits for the running ones, up to `grace_seconds`
        (None: as long as they take)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        deadline = None if grace_seconds is None else time.monotonic() + grace_seconds
        pools = (self.pool, self.case_pool, self.bot_pool)
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
        for pool in pools:
            pool.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
