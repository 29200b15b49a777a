"""The cases' CaseNotifier, in Slack: the Program Manager's queue (one message per job,
in which its cases are reviewed one at a time, in place; the Home tab), a case sent from
a lookup as a message to every Program Manager (a DM each, or the PM channel), messages
updated in place as cases move, and a reply in the thread of the job that revealed one."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.case_messages import (case_handoff_message, case_message, case_outcome_message, cataloger_link_message,
                                home_view, pm_notice_message, queue_message, review_message)
from bot.notifier import find_posted, post_once, reply_once, tagged
from bot.stats_messages import trend_block
from nzbot.access import EVERY_MEMBER
from nzbot.institutions import Institution
from nzbot.queue import PmQueue, QueueView, Showing, outcome_intent
from nzbot.settings import BotSettings
from nzbot.states import PmNotice
from nzbot.stats import DEFAULT_WEEKS, figures
from nzbot.store import Case, LinkJob, LinkToken, Store

CASE_EVENT = "nzbot_case"
QUEUE_EVENT = "nzbot_case_queue"
HOME_SECONDS = 10.0  # the Home tabs are republished at most this often
HANDOFF_EVENT = "nzbot_case_handoff"
PM_NOTICE_EVENT = "nzbot_pm_notice"
OUTCOME_EVENT = "nzbot_case_outcome"  # how a case ended, in the thread of its link job


class SlackCaseNotifier:
    resend_after_seconds = 60.0  # an outcome reply not seen through this long is sent again
    def __init__(self, client: WebClient, store: Store, settings: BotSettings,
                 institution: Institution | None = None, home_owner: "SlackCaseNotifier | None" = None) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        # the member whose cases these are: hand-offs go to its report channel, and the
        # Program Manager's messages name it (consortium mode)
        self.institution = institution or settings.institutions[0]
        self.report_channel = self.institution.report_channel
        # The Program Manager's queue is one for every member: it reads the whole store,
        # and the first member's notifier keeps the Home tabs (one debounce, not one each).
        self.queue = PmQueue(store)
        self._home_owner: SlackCaseNotifier = home_owner or self
        self._home_changed = False  # published when opened (app_home_opened), and on changes
        self._home_published = float("-inf")
        # debounced: ten scheduler rounds, at most HOME_SECONDS
        self._home_seconds = min(HOME_SECONDS, settings.poll_seconds * 10)

    def show_case(self, case: Case) -> None:
        """Updates every message showing the case (a queue message moves on to the next case
        when this one is decided: nzbot/queue.py says what each does). A case sent from a
        lookup (no job) reaches each Program Manager at once, as one message."""
        if case.by_cataloger:
            self._answer_cataloger(case)
        message = case_message(case, institution=self.institution.label).as_kwargs()
        shown = self.queue.showing(case)
        for place in shown:
            if place.showing is Showing.NEXT_CASE:
                self.review(place.channel, place.ts, place.link_job, decided=case)
            elif place.showing is Showing.SAME_CASE:  # with the queue's line and "Next case"
                job = self.store.link_job(place.link_job) if place.link_job is not None else None
                self.client.chat_update(channel=place.channel, ts=place.ts, **review_message(
                    case, job, self.queue.counts(place.link_job), self._label(case),
                    suggested=self.queue.suggestions(place.link_job)).as_kwargs())
            else:
                self.client.chat_update(channel=place.channel, ts=place.ts, **message)
        for channel, ts in self.queue.decided_lines(case, shown):  # its line, where it was decided
            self._post_view(self.queue.view_with_line(channel, ts, case))
        if self.queue.back_to_decide(case, shown):
            self._offer_review(case.link_job)
        if case.link_job is None and not case.by_cataloger:  # a cataloger's own link is not the PM's to see
            mine = {place.channel for place in shown}
            for channel in self.recipients():
                if channel not in mine:
                    # Once only, even if nzbot dies between Slack storing it and this record.
                    metadata = {"event_type": CASE_EVENT, "event_payload": {"case": case.id}}
                    intent = f"posting:case:{case.id}:{channel}"
                    ts = post_once(self.client, self.store, intent, channel, metadata, **message)
                    self.store.add_case_message(case.id, channel, ts, self._permalink(channel, ts))
                    self.store.drop_post(intent)  # recorded: the intent has served
        self._home_owner._home_changed = True

    # -- the Program Manager's queue ----------------------------------------------------

    def queue_ready(self, job: LinkJob, counts: dict[str, int]) -> None:
        """One message per job to each Program Manager: its cases, and "Review cases"."""
        done = {channel for channel, _ in self.store.queue_messages_of(job.id)}
        for channel in self.recipients():
            if channel not in done:
                metadata = {"event_type": QUEUE_EVENT, "event_payload": {"link_job": job.id}}
                intent = f"posting:queue:{job.id}:{channel}"
                ts = post_once(self.client, self.store, intent, channel, metadata, **queue_message(
                    job, counts, self._label(job), suggested=self.queue.suggestions(job.id)).as_kwargs())
                self.store.add_queue_message(job.id, channel, ts, self._permalink(channel, ts))
                self.store.drop_post(intent)  # recorded: the intent has served
        self._home_owner._home_changed = True

    def _offer_review(self, link_job: int) -> None:
        """The job's queue messages not showing a case offer "Review cases" again."""
        job, counts = self.store.link_job(link_job), self.queue.counts(link_job)
        for channel, ts in self.queue.idle_messages(link_job):
            self.client.chat_update(channel=channel, ts=ts, **queue_message(
                job, counts, self._label(job), suggested=self.queue.suggestions(link_job)).as_kwargs())

    def review(self, channel: str, ts: str | None, link_job: int | None, user: str | None = None,
               decided: Case | None = None) -> None:
        """Shows the next case to decide (of the job, or of all) in the queue message
        (channel, ts), in place; with no message (the Home tab's button), in a new one in
        the user's DM. `decided`, the case just decided there, keeps a line in it."""
        if ts is None:
            job = self.store.link_job(link_job) if link_job is not None else None
            channel = self._dm(user) if user else self.recipients()[0]
            ts = self.client.chat_postMessage(channel=channel, **queue_message(
                job, self.queue.counts(link_job), self._label(job), suggested=self.queue.suggestions(link_job)).as_kwargs())["ts"]
            self.store.add_queue_message(link_job, channel, ts)
        view = self.queue.next_view(channel, ts, link_job, decided)
        self._post_view(view)
        self.queue.shown(view)

    def _answer_cataloger(self, case: Case) -> None:
        """A cataloger's own link: their /nz match answer, replaced as the link moves on
        (its response_url, which Slack keeps 30 minutes for 5 answers); after that an
        ephemeral line in the channel they pressed in."""
        message = cataloger_link_message(case, self.report_channel).as_kwargs()
        if case.answer_url:
            try:
                answer = WebhookClient(case.answer_url).send(replace_original=True, **message)
                if answer.status_code == 200:
                    return
            except Exception:  # expired, used up, or Slack unreachable: the ephemeral line then
                pass
        if case.answer_channel and case.decided_by:
            self.client.chat_postEphemeral(channel=case.answer_channel, user=case.decided_by, **message)

    def _post_view(self, view: QueueView) -> None:
        """A queue message as `view` says: the case to decide, or the job's summary."""
        if view.case is None:
            message = queue_message(view.job, view.counts, self._label(view.job), decided=view.decided,
                                    suggested=self.queue.suggestions(view.job.id if view.job else None))
        else:
            message = review_message(view.case, view.job, view.counts, self._label(view.case), decided=view.decided,
                                     suggested=self.queue.suggestions(view.job.id if view.job else None))
        self.client.chat_update(channel=view.channel, ts=view.ts, **message.as_kwargs())

    def publish_home(self, user: str) -> None:
        """The Home tab: open cases by job, oldest first, and "Review next"."""
        home = self.queue.home()
        found = figures(self.store.whole(), self.settings, DEFAULT_WEEKS, scope=EVERY_MEMBER,
                        now=datetime.now(timezone.utc))
        self.client.views_publish(user_id=user, view=home_view(
            home.rows, failed=home.failed, failed_total=home.failed_total, stuck=home.stuck, member=self._label,
            trend=trend_block(found.consortium)))

    def refresh_home(self) -> None:
        """Republishes the Program Managers' Home tabs when cases changed, at most once
        every HOME_SECONDS (views.publish is rate-limited, and a job opens thousands)."""
        if self._home_owner is not self:
            return  # the first member's notifier publishes for all
        now = time.monotonic()
        if not self._home_changed or now - self._home_published < self._home_seconds:
            return
        self._home_changed, self._home_published = False, now
        for user in self.settings.pm_users:
            self.publish_home(user)

    def case_settled(self, case: Case, revealed_by: LinkJob | None) -> None:
        """How the case ended, in the thread of the job that revealed it: posted once (found
        again by its metadata), and sent again by resend_outcomes if Slack did not take it."""
        if revealed_by is None or not revealed_by.message_ts:
            return  # sent from a lookup: the PM's message is the record
        metadata = {"event_type": OUTCOME_EVENT,
                    "event_payload": {"case": case.id, "state": case.state, "decided": case.decided_at or ""}}
        reply_once(self.client, self.store, outcome_intent(case), self.report_channel, revealed_by.message_ts,
                   metadata, case_id=case.id, **case_outcome_message(case).as_kwargs())

    def resend_outcomes(self) -> None:
        """This member's case outcomes whose reply did not get through (Slack down, a dropped
        connection): sent now, unless a reply is being posted right now (a click)."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.resend_after_seconds)
        for case in self.queue.outcomes_to_send_again(self.institution.code, before=cutoff):
            self.case_settled(case, self.store.link_job(case.link_job) if case.link_job else None)

    def hand_off(self, case: Case, revealed_by: LinkJob | None) -> str | None:
        """The cataloger's steps, in the revealing job's thread (found again there by its
        metadata after a crash, never posted twice), or in the report channel."""
        thread = revealed_by.message_ts if revealed_by is not None else None
        metadata = {"event_type": HANDOFF_EVENT, "event_payload": {"case": case.id}}
        if thread:
            ts = tagged(self.client.conversations_replies(
                channel=self.report_channel, ts=thread, include_all_metadata=True, limit=200).get("messages", []), metadata)
        else:  # at the top of the channel: among its latest messages (newest first)
            ts = find_posted(self.client, self.report_channel, metadata)
        if ts:
            return ts
        response = self.client.chat_postMessage(
            channel=self.report_channel, thread_ts=thread, metadata=metadata,
            **case_handoff_message(case, bool(thread)).as_kwargs())
        return response["ts"]

    # -- outcomes after a decision, for the Program Manager --------------------------------

    def tell_pm(self, case: Case, what: PmNotice, token: LinkToken | None = None) -> None:
        """A reply in the thread of the job's queue message (one per PM channel), or of the
        latest "Review next" message, or of the case's own message (sent from a lookup),
        posted once: found again by its metadata after a crash or a retry."""
        once = f"{what}:{token.token if token else case.decided_at or ''}"
        metadata = {"event_type": PM_NOTICE_EVENT, "event_payload": {"case": case.id, "notice": once}}
        message = pm_notice_message(case, what, token)
        for channel, ts in self.queue.notice_threads(case):
            reply = reply_once(self.client, self.store, f"pm_notice:{case.id}:{once}:{channel}:{ts}",
                               channel, ts, metadata, **message.as_kwargs())
            if what == PmNotice.FAILED:  # its buttons: the reply is updated like the case's own messages
                self.store.add_case_message(case.id, channel, reply)
        self._home_owner._home_changed = True

    def _label(self, row: Case | LinkJob | None) -> str:
        """How messages name the member a case or job belongs to ("" in single-institution mode)."""
        return self.settings.label_of(row.institution) if row is not None else ""

    def recipients(self) -> list[str]:
        """The PM channel, or a DM channel with each Program Manager."""
        if self.settings.pm_channel:
            return [self.settings.pm_channel]
        return [self._dm(user) for user in self.settings.pm_users]

    def _permalink(self, channel: str, ts: str) -> str | None:
        """Asked once, as the message is posted: /nz cases links to it without asking."""
        try:
            return self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except Exception:  # a missing link is no reason to fail the post
            return None

    def _dm(self, user: str) -> str:
        channel = self.store.dm_channel(user)
        if not channel:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
            self.store.keep_dm_channel(user, channel)
        return channel
