"""The workflow's Notifier, in Slack: start messages edited as jobs move, reports in
their threads, tagged with message metadata so that a report is found again after a
crash instead of being posted twice.

Every message that must appear once (a start message, a report, a case message) is
posted by `post_once`: the intent is recorded before the post, and when an earlier
intent is found (a kill -9, or a dropped connection, between Slack storing the message
and nzbot recording its ts) the message is looked for by its metadata first."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages import (alma_blocked_message, cases_found_message, job_report_message,
                          link_job_message, recheck_failed_message, schedule_run_message,
                          unreadable_found_message)
from nzbot.access import EVERY_MEMBER
from nzbot.report import JobReport
from nzbot.store import LinkJob, Schedule, ScheduleRun, Store

log = logging.getLogger(__name__)

REPORT_EVENT = "nzbot_job_report"
CASES_FOUND_EVENT = "nzbot_cases_found"  # the re-check's count of cases, in the job's thread
UNREADABLE_EVENT = "nzbot_unreadable_found"  # the records the re-check could not read
START_EVENT = "nzbot_link_job"
SCHEDULE_RUN_EVENT = "nzbot_schedule_run"  # a schedule's run skipped or waiting, said once
# How far back a message whose posting was interrupted is looked for: the newest
# HISTORY_PAGES x HISTORY_PAGE messages of the channel (it was posted just before).
HISTORY_PAGE = 200
HISTORY_PAGES = 5


def tagged(messages: list[dict], metadata: dict) -> str | None:
    """The ts of the first message carrying this metadata (event type and payload)."""
    for message in messages:
        found = message.get("metadata") or {}
        payload = found.get("event_payload") or {}
        if found.get("event_type") == metadata["event_type"] and all(
                payload.get(k) == v for k, v in metadata["event_payload"].items()):
            return message["ts"]
    return None


def find_posted(client: WebClient, channel: str, metadata: dict) -> str | None:
    """The ts of the message at the top level of `channel` tagged with `metadata`, among
    its newest messages; None when it is not there."""
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = client.conversations_history(channel=channel, include_all_metadata=True,
                                            limit=HISTORY_PAGE, cursor=cursor)
        ts = tagged(page.get("messages", []), metadata)
        if ts:
            return ts
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def post_once(client: WebClient, store: Store, intent: str, channel: str, metadata: dict,
              **message) -> str:
    """Posts a top-level message meant to exist once and returns its ts. The intent is
    recorded first; if one was recorded before, the earlier message is looked for."""
    if store.post_intent(intent) is not None:
        ts = find_posted(client, channel, metadata)
        if ts:
            log.info("found %s already posted in %s (%s)", metadata["event_type"], channel, ts)
            return ts
    store.begin_post(intent)
    return client.chat_postMessage(channel=channel, metadata=metadata, **message)["ts"]


def reply_once(client: WebClient, store: Store, intent: str, channel: str, thread_ts: str,
               metadata: dict, case_id: int | None = None, **message) -> str:
    """post_once for a reply in a thread: posted once however often it is asked for (the
    intent is kept, with the reply's ts, once it is posted), and looked for among the
    thread's replies when an earlier try may have reached Slack. `case_id`: the case it is
    about (a case's outcome, sent again by resend_outcomes)."""
    seen = store.post_intent(intent)
    if seen is not None and seen.posted_ts:
        return seen.posted_ts
    ts = None
    if seen is not None:
        replies = client.conversations_replies(channel=channel, ts=thread_ts, include_all_metadata=True, limit=200)
        ts = tagged(replies.get("messages", []), metadata)
    if not ts:
        store.begin_post(intent, case_id)
        ts = client.chat_postMessage(channel=channel, thread_ts=thread_ts, metadata=metadata, **message)["ts"]
    store.post_made(intent, ts)
    return ts


class SlackNotifier:
    def __init__(self, client: WebClient, report_channel: str, store: Store) -> None:
        self.client = client
        self.channel = report_channel
        self.store = store
        # Jobs whose start message was deleted: their report goes to the top level.
        self._threadless: set[int] = set()

    def link_job_changed(self, job: LinkJob) -> str | None:
        message = link_job_message(job).as_kwargs()
        if job.message_ts:
            self.client.chat_update(channel=self.channel, ts=job.message_ts, **message)
            return job.message_ts
        metadata = {"event_type": START_EVENT, "event_payload": {"link_job": job.id}}
        return post_once(self.client, self.store, f"posting:link_job:{job.id}", self.channel,
                         metadata, **message)

    def report_posted(self, job: LinkJob) -> str | None:
        metadata = _report_metadata(job)
        if job.message_ts and job.id not in self._threadless:
            try:
                replies = self.client.conversations_replies(
                    channel=self.channel, ts=job.message_ts, include_all_metadata=True, limit=200
                )
            except SlackApiError as exc:
                if (exc.response or {}).get("error") != "thread_not_found":
                    raise
                # Someone deleted the start message: its report goes to the top level.
                log.warning("link job %s: its start message is gone; the report goes to the "
                            "top of the channel", job.id)
                self._threadless.add(job.id)
            else:
                return tagged(replies.get("messages", []), metadata)
        return find_posted(self.client, self.channel, metadata)

    def post_report(self, job: LinkJob, report: JobReport) -> str:
        response = self.client.chat_postMessage(
            channel=self.channel,
            thread_ts=self._thread_of(job),
            metadata=_report_metadata(job),
            **job_report_message(report).as_kwargs(),
        )
        return response["ts"]

    def cases_found(self, job: LinkJob, case_ids: list[int]) -> None:
        suggested = self.store.suggestion_counts(job.id, scope=EVERY_MEMBER)
        self._said_once(job, CASES_FOUND_EVENT, **cases_found_message(len(case_ids), suggested).as_kwargs())

    def unreadable_found(self, job: LinkJob, mms_ids: list[str]) -> None:
        self._said_once(job, UNREADABLE_EVENT, **unreadable_found_message(mms_ids).as_kwargs())

    def _said_once(self, job: LinkJob, event: str, **message) -> str:
        """One reply of its kind in the job's thread (at the top level when the start
        message is gone): a re-check tried again after a dropped answer never says it twice."""
        intent, metadata = f"posting:{event}:{job.id}", {"event_type": event, "event_payload": {"link_job": job.id}}
        thread = self._thread_of(job)
        if thread is None:
            return post_once(self.client, self.store, intent, self.channel, metadata, **message)
        return reply_once(self.client, self.store, intent, self.channel, thread, metadata, **message)

    def recheck_failed(self, job: LinkJob, tries: int, reason: str) -> None:
        self.client.chat_postMessage(
            channel=self.channel, thread_ts=self._thread_of(job),
            **recheck_failed_message(job.set_id, tries, reason).as_kwargs(),
        )

    def _thread_of(self, job: LinkJob) -> str | None:
        """The start message's ts, or None (the top level) when it was deleted."""
        return job.message_ts if job.id not in self._threadless else None

    def alma_blocked(self, text: str) -> None:
        self.client.chat_postMessage(channel=self.channel, **alma_blocked_message(text).as_kwargs())

    def schedule_run_said(self, schedule: Schedule, run: ScheduleRun, due_words: str) -> str:
        metadata = {"event_type": SCHEDULE_RUN_EVENT, "event_payload": {"schedule_run": run.id}}
        return post_once(self.client, self.store, f"posting:schedule_run:{run.id}", self.channel, metadata,
                         **schedule_run_message(schedule, run, due_words).as_kwargs())


def _report_metadata(job: LinkJob) -> dict:
    return {"event_type": REPORT_EVENT, "event_payload": {"link_job": job.id}}
