"""The bot's clock (APScheduler 3.x, in-process): starts queued link jobs, follows the
running ones, reports the finished ones, and watches for runs started in Alma's UI."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from alma.errors import AlmaError
from bot.services import Services
from nzbot.store import now

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.scheduler = BackgroundScheduler(daemon=True)
        settings = services.settings
        # Runs in Alma's UI are reported from the moment nzbot first watched, not before.
        self.watching_since = datetime.fromisoformat(services.store.remembered("watching_since", now()))
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        self.scheduler.add_job(services.link_jobs.tick, "interval",
                               seconds=settings.poll_seconds, id="link_jobs", next_run_time=datetime.now(),
                               **common)
        self.scheduler.add_job(services.cases.advance, "interval", seconds=settings.poll_seconds,
                               id="cases", next_run_time=datetime.now(), **common)
        self.scheduler.add_job(self.discover, "interval", seconds=settings.discover_seconds,
                               id="discover", next_run_time=datetime.now(), **common)

    def discover(self) -> None:
        try:
            since = self.services.link_jobs.discover_ui_runs(self.watching_since)
            if since != self.watching_since:  # moves forward: each round costs the same
                self.services.store.remember("watching_since", since.isoformat())
                self.watching_since = since
        except AlmaError as exc:  # Alma down or quota low: the next round tries again
            self.services.link_jobs.blocked.failed("watching Alma for link jobs", exc)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
