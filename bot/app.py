"""Builds the running bot: Bolt app, services, scheduler, and the HTTP or Socket Mode
front door."""

from __future__ import annotations

import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from alma.calls import FairPool
from alma.client import AlmaClient
from alma.config import SettingError
from bot.alma_webhook import AlmaWebhook
from bot.case_notifier import SlackCaseNotifier
from bot.listeners import register_listeners
from bot.listeners.answering import listener_failed
from bot.notifier import SlackNotifier
from bot.scheduler import Scheduler
from bot.slack_client import PacedWebClient
from bot.services import Member, Services
from bot.slack_retries import retry_handlers
from nzbot.adopt import kept_unowned, start_up_problem, unowned_rows
from nzbot.cases import Cases
from nzbot.dblock import BotLock
from nzbot.facts import AlmaFacts, route_warnings
from nzbot.linkjobs import LinkJobs
from nzbot.schedules import Schedules
from nzbot.settings import BotSettings
from nzbot.status import status_of
from nzbot.store import DatabaseProblem, Store

log = logging.getLogger(__name__)


# How long stop() lets work already running end (a slow Alma call has its own timeout).
STOP_GRACE_SECONDS = 5.0


@dataclass
class Bot:
    app: App
    services: Services
    scheduler: Scheduler
    lock: BotLock | None = None  # one bot per database, held until stop()
    # Alma's JOB_END webhook, for the HTTP server to answer; None without NZBOT_ALMA_WEBHOOK_SECRET.
    alma_webhook: AlmaWebhook | None = None

    def health(self) -> tuple[bool, dict]:
        """GET /healthz: what `nzbot status` says, from the bot itself."""
        try:
            found = status_of(self.services.store, self.services.settings.poll_seconds)
        except DatabaseProblem as exc:  # lost or damaged under the bot: not healthy, said why
            return False, {"healthy": False, "problems": [str(exc)]}
        return found.healthy, found.as_dict()

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stops the rounds, drops work not begun, and gives work already running (an answer
        on its way to a cataloger, a round) up to `grace_seconds` to end before Alma's
        connections close."""
        self.services.stopping.set()
        deadline = time.monotonic() + grace_seconds
        self.services.work.shutdown(wait=False, cancel_futures=True)
        self.scheduler.stop(grace_seconds)
        self.services.work.join(max(0.0, deadline - time.monotonic()))
        members = list(self.services.members.values())
        for member in members:
            member.alma.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None


class _TokenInTheClient(logging.Filter):
    """Drops the one line Bolt logs on every start: "As you gave `client` as well, `token`
    will be unused." Its cause: App() takes `token or os.environ["SLACK_BOT_TOKEN"]`, so
    with SLACK_BOT_TOKEN set (always, for nzbot run) and our `client` given (the paced
    client, holding that very token, which Socket Mode and every request's client are built
    from) it warns that the environment's token is ignored. No argument of App stops that
    read of the environment, and passing no client would lose the pace and SLACK_API_URL;
    so the line is matched by Bolt's own words and dropped, and every other line kept."""

    line = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.line


_BOLT_APP_LOG = logging.getLogger("slack_bolt.App")  # the logger App() warns on (slack_bolt.logger)
if not any(isinstance(f, _TokenInTheClient) for f in _BOLT_APP_LOG.filters):
    _BOLT_APP_LOG.addFilter(_TokenInTheClient())


# Python's full collections walk every live object with the GIL held, every thread (acks
# too) stopped meanwhile. A 40-member consortium holds each member's chunk of parsed records
# (some 100,000 objects a member): 13 full collections of up to 1.5 s each (6.6 s) in
# bench/consortium.py. Rarer young collections let short-lived objects die young instead of
# piling up as old ones, and full collections become rare; cycles are still collected.
GC_THRESHOLDS = (10_000, 10, 100)

# The threads that do commands' slow work (anything that calls Alma, after the ack), for
# every member together: each member a lane, taken in turn, at most PER_MEMBER of one
# member's at once, so a member whose Alma hangs holds PER_MEMBER threads, not all.
COMMAND_THREADS = 8
PER_MEMBER = 3


def create_bot(settings: BotSettings, *, start_scheduler: bool = True,
               clock: Callable[[], datetime] | None = None) -> Bot:
    gc.set_threshold(*GC_THRESHOLDS)  # the bot's process serves Slack: see GC_THRESHOLDS
    client = PacedWebClient(token=settings.bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL,
                            retry_handlers=retry_handlers())
    lock = BotLock(settings.db_path)  # before anything reads the database: one bot per database
    try:
        store = Store(settings.db_path, settings.suggestion_rules)
    except Exception:
        lock.release()
        raise
    codes = tuple(i.code for i in settings.institutions)
    unowned = unowned_rows(store, codes)
    problem = start_up_problem(unowned, codes, settings.db_path)
    if problem:  # rows from before consortium mode: their cases would silently stop moving
        store.close()
        lock.release()
        raise SettingError(problem)
    for line in kept_unowned(unowned, settings.db_path):
        log.warning("%s", line)
    for line in route_warnings(AlmaFacts.of(store)):  # what `nzbot probe` found stops a route
        log.warning("Alma fact: %s", line)
    work = FairPool(COMMAND_THREADS, per_lane=PER_MEMBER if settings.consortium else COMMAND_THREADS,
                    name="nzbot-work")
    members = {}
    # consortium mode: one client of the NZ's own API for all members (one pace, one quota)
    nz = (AlmaClient(replace(settings.alma, api_key=settings.alma.nz_api_key, nz_api_key=""))
          if settings.consortium and settings.alma.nz_api_key else None)
    for institution in settings.institutions:  # one in single-institution mode
        view = store.for_institution(institution.code)
        alma = AlmaClient(institution.alma, nz=nz)
        notifier = SlackNotifier(client, institution.report_channel, view)
        link_jobs = LinkJobs(view, alma, notifier)
        members[institution.code] = Member(
            institution=institution, store=view, alma=alma, link_jobs=link_jobs,
            cases=Cases(view, alma, link_jobs, SlackCaseNotifier(
                client, view, settings, institution, home_owner=next(iter(members.values())).cases.notifier
                if members else None),
                        batch_seconds=settings.case_batch_seconds,
                        token_prefix=settings.link_token_prefix),
            # a lane of its own: one member's slow Alma never holds another's commands up
            workers=work.lane(institution.code),
            # a run is on time if a round or two late, whatever NZBOT_SCHEDULE_GRACE says
            schedules=Schedules(view, link_jobs, notifier, settings.zone, settings.schedule_grace,
                                on_time=timedelta(seconds=2 * settings.poll_seconds + 60)),
        )
    first = next(iter(members.values()))
    services = Services(
        settings=settings,
        store=store,
        alma=first.alma,
        link_jobs=first.link_jobs,
        cases=first.cases,
        slack=client,
        workers=first.workers,
        schedules=first.schedules,
        members=members,
        work=work,
        institution=first.institution,
        **({"clock": clock} if clock else {}),
    )
    app = App(
        client=client,
        signing_secret=settings.signing_secret or None,
        # Listeners only parse and ack: as many threads as requests served at once (bot/server.py).
        listener_executor=ThreadPoolExecutor(max_workers=10, thread_name_prefix="nzbot-ack"),
        token_verification_enabled=False,  # auth.test at start-up is the doctor's job
        request_verification_enabled=not settings.socket_mode,
    )
    register_listeners(app, services)
    app.error(listener_failed)
    scheduler = Scheduler(services)
    if start_scheduler:
        scheduler.start()
    webhook = AlmaWebhook(services, settings.alma_webhook_secret) if settings.alma_webhook_secret else None
    return Bot(app=app, services=services, scheduler=scheduler, lock=lock, alma_webhook=webhook)

