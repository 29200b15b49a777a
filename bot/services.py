"""What the listeners and the scheduler share: settings, state, Alma, the workflow."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable

from slack_sdk import WebClient

from alma.calls import FairPool, Lane
from alma.client import AlmaClient
from nzbot.access import Actor, Policy
from nzbot.cases import Cases
from nzbot.institutions import Institution
from nzbot.linkjobs import LinkJobs
from nzbot.schedules import Schedules
from nzbot.settings import BotSettings
from nzbot.store import DatabaseLost, Store

log = logging.getLogger(__name__)


@dataclass
class Member:
    """One member institution's own parts: its view of the store, its Alma client (pace
    limiter, quota guard), link-job queue, cases and workers. Nothing here is shared with
    another member, so one member's outage, quota or refusal never delays another's."""

    institution: Institution
    store: Store
    alma: AlmaClient
    link_jobs: LinkJobs
    cases: Cases
    workers: Lane  # its lane of the bot's one pool for commands' slow work
    schedules: Schedules


@dataclass
class Services:
    settings: BotSettings
    store: Store
    alma: AlmaClient
    link_jobs: LinkJobs
    cases: Cases
    slack: WebClient
    # Slow work (anything that calls Alma) runs here, after Slack has had its ack: the
    # member's lane of `work`, the pool every member's `workers` is a lane of.
    workers: Lane
    work: FairPool
    # Consortium mode: every member, by code. The fields above are one member's (the
    # first's, until for_member): what a listener sees once it knows the member.
    members: dict[str, Member] = field(default_factory=dict)
    institution: Institution | None = None
    # Who may see and do what (nzbot/access.py): the one place that decides.
    policy: Policy | None = None
    schedules: Schedules | None = None  # the member's (for_member), as link_jobs and cases
    # Set by Bot.stop: work cut short by the stop (Slack or Alma closed under it) is not an error.
    stopping: threading.Event = field(default_factory=threading.Event)
    # What time it is (UTC): the figures' weeks and the digest's moment read it, and a test
    # gives the bot a clock it can move to next Monday.
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = Policy(self.settings.institutions, self.settings.pm_users, self.settings.pm_channel)

    def for_member(self, member: Member) -> "Services":
        """These services as one member sees them: its store view, Alma, jobs, cases, workers."""
        return replace(self, store=member.store, alma=member.alma, link_jobs=member.link_jobs,
                       cases=member.cases, workers=member.workers, institution=member.institution,
                       schedules=member.schedules)

    def for_actor(self, actor: Actor) -> "Services":
        """These services as the actor's member sees them (unchanged when the actor is in no
        member's channel: the Program Manager's place, where the scope is every member)."""
        member = self.members.get(actor.member.code) if actor.member is not None else None
        return self.for_member(member) if member is not None else self

    def member_of_case(self, case_id: object) -> "Services":
        """The services of the member a case belongs to (a Program Manager's button); these
        services unchanged when there is no such case (the workflow says so plainly)."""
        try:
            code = self.store.case_owner(int(str(case_id)))
        except ValueError:
            return self
        member = self.members.get(code)
        return self.for_member(member) if member is not None else self

    def member_for_institution(self, code: str) -> Member | None:
        """The member whose Alma calls itself `code` (an Alma webhook's institution); None
        for no member. One institution alone is that member whatever the code: its settings
        do not name its code, and the webhook's job instance must still be one of its own."""
        if not self.settings.consortium:
            return next(iter(self.members.values()), None)
        return self.members.get(code)

    def later(self, work: Callable[[], None]) -> None:
        """Runs `work` after the ack; its failures are logged, never lost silently."""

        def run() -> None:
            try:
                work()
            except DatabaseLost:  # said once, by the round that noticed it
                pass
            except Exception as exc:
                if self.stopping.is_set():  # the bot is stopping: its connections close under it
                    log.info("background work cut short by the stop: %s", exc)
                else:
                    log.exception("background work failed")

        self.workers.submit(run)
