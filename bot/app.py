"""Builds the running bot: Bolt app, services, scheduler, and the HTTP or Socket Mode
front door."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from alma.client import AlmaClient
from bot.case_notifier import SlackCaseNotifier
from bot.listeners import register_listeners
from bot.listeners.answering import listener_failed
from bot.notifier import SlackNotifier
from bot.scheduler import Scheduler
from bot.slack_client import PacedWebClient
from bot.services import Services
from bot.slack_retries import retry_handlers
from nzbot.cases import Cases
from nzbot.linkjobs import LinkJobs
from nzbot.settings import BotSettings
from nzbot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Bot:
    app: App
    services: Services
    scheduler: Scheduler

    def stop(self) -> None:
        self.scheduler.stop()
        self.services.workers.shutdown(wait=False, cancel_futures=True)
        self.services.alma.close()


def create_bot(settings: BotSettings, *, start_scheduler: bool = True) -> Bot:
    client = PacedWebClient(token=settings.bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL,
                            retry_handlers=retry_handlers())
    store = Store(settings.db_path)
    alma = AlmaClient(settings.alma)
    notifier = SlackNotifier(client, settings.report_channel, store)
    link_jobs = LinkJobs(store, alma, notifier)
    services = Services(
        settings=settings,
        store=store,
        alma=alma,
        link_jobs=link_jobs,
        cases=Cases(store, alma, link_jobs, SlackCaseNotifier(client, store, settings),
                    settings.pm_users, batch_seconds=settings.case_batch_seconds,
                    token_prefix=settings.link_token_prefix),
        slack=client,
        workers=ThreadPoolExecutor(max_workers=8, thread_name_prefix="nzbot-work"),
    )
    app = App(
        client=client,
        signing_secret=settings.signing_secret or None,
        # Listeners only parse and ack; a wide pool keeps acks quick under bursts.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="nzbot-ack"),
        token_verification_enabled=False,  # auth.test at start-up is the doctor's job
        request_verification_enabled=not settings.socket_mode,
    )
    register_listeners(app, services)
    app.error(listener_failed)
    scheduler = Scheduler(services)
    if start_scheduler:
        scheduler.start()
    return Bot(app=app, services=services, scheduler=scheduler)

