"""What the listeners and the scheduler share: settings, state, Alma, the workflow."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from slack_sdk import WebClient

from alma.client import AlmaClient
from nzbot.cases import Cases
from nzbot.linkjobs import LinkJobs
from nzbot.settings import BotSettings
from nzbot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: BotSettings
    store: Store
    alma: AlmaClient
    link_jobs: LinkJobs
    cases: Cases
    slack: WebClient
    # Slow work (anything that calls Alma) runs here, after Slack has had its ack.
    workers: ThreadPoolExecutor

    def later(self, work: Callable[[], None]) -> None:
        """Runs `work` after the ack; its failures are logged, never lost silently."""

        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("background work failed")

        self.workers.submit(run)
