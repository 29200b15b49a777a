"""The weekly digest, posted by the scheduler's rounds: each member's figures to its
report channel, and (consortium mode) every member's side by side to the Program Manager
(their DM, or NZBOT_PM_CHANNEL, as the queue messages go).

Once per period, across restarts: each post goes through the once-only path (the intent
recorded before the post, the message found again by its metadata after a kill -9
between Slack storing it and nzbot recording it), and the posted ts is kept with the
intent, so a period posted is never posted again."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.notifier import post_once
from bot.services import Services
from bot.stats_messages import stats_message
from nzbot import digest
from nzbot.access import EVERY_MEMBER, Scope
from nzbot.stats import DEFAULT_WEEKS, figures

log = logging.getLogger(__name__)

DIGEST_EVENT = "nzbot_digest"
CONSORTIUM = "consortium"  # the Program Manager's digest, in its intent and metadata


class Digest:
    def __init__(self, services: Services) -> None:
        self.services = services

    def check(self) -> None:
        """A round: posts the digest of the period now due, if it has not been posted."""
        settings, now = self.services.settings, self.services.clock()
        since = self.services.store.digest_since(now.isoformat(timespec="seconds"))
        period = digest.due(settings.digest, now, datetime.fromisoformat(since), settings.zone)
        if period is not None:
            self.post(period)

    def post(self, period: digest.Period) -> None:
        """The digest of `period`, wherever it is not posted yet (the demo's "now" is this too)."""
        services = self.services
        for member in services.settings.institutions:
            self._post_once(period, member.code or "member", member.report_channel, Scope.member(member.code))
        if services.settings.consortium:
            for channel in services.cases.notifier.recipients():
                self._post_once(period, CONSORTIUM, channel, EVERY_MEMBER)

    def _post_once(self, period: digest.Period, whose: str, channel: str, scope: Scope) -> None:
        store = self.services.store
        intent = f"digest:{period.key}:{whose}:{channel}"
        seen = store.post_intent(intent)
        if seen is not None and seen.posted_ts:
            return
        found = figures(store, self.services.settings, DEFAULT_WEEKS, scope=scope, now=self.services.clock(),
                        last_day=period.last_day_shown)
        message = stats_message(found, every_member=scope.every_member, title=f"Weekly digest, {period.key}")
        metadata = {"event_type": DIGEST_EVENT, "event_payload": {"period": period.key, "whose": whose}}
        ts = post_once(self.services.slack, store, intent, channel, metadata, **message.as_kwargs())
        store.post_made(intent, ts)
        log.info("posted the weekly digest %s for %s in %s", period.key, whose, channel)
