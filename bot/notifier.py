"""The workflow's Notifier, in Slack: start messages edited as jobs move, reports in
their threads, tagged with message metadata so that a report is found again after a
crash instead of being posted twice."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.messages import (alma_blocked_message, cases_found_message, job_report_message, link_job_message,
                          unreadable_found_message)
from nzbot.report import JobReport
from nzbot.store import LinkJob

REPORT_EVENT = "nzbot_job_report"


class SlackNotifier:
    def __init__(self, client: WebClient, report_channel: str) -> None:
        self.client = client
        self.channel = report_channel

    def link_job_changed(self, job: LinkJob) -> str | None:
        message = link_job_message(job).as_kwargs()
        if job.message_ts:
            self.client.chat_update(channel=self.channel, ts=job.message_ts, **message)
            return job.message_ts
        return self.client.chat_postMessage(channel=self.channel, **message)["ts"]

    def report_posted(self, job: LinkJob) -> str | None:
        if not job.message_ts:
            return None
        replies = self.client.conversations_replies(
            channel=self.channel, ts=job.message_ts, include_all_metadata=True, limit=200
        )
        for message in replies.get("messages", []):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == REPORT_EVENT and payload.get("link_job") == job.id:
                return message["ts"]
        return None

    def post_report(self, job: LinkJob, report: JobReport) -> str:
        response = self.client.chat_postMessage(
            channel=self.channel,
            thread_ts=job.message_ts,
            metadata={"event_type": REPORT_EVENT, "event_payload": {"link_job": job.id}},
            **job_report_message(report).as_kwargs(),
        )
        return response["ts"]

    def cases_found(self, job: LinkJob, case_ids: list[int]) -> None:
        self.client.chat_postMessage(
            channel=self.channel, thread_ts=job.message_ts,
            **cases_found_message(len(case_ids)).as_kwargs(),
        )

    def unreadable_found(self, job: LinkJob, mms_ids: list[str]) -> None:
        self.client.chat_postMessage(
            channel=self.channel, thread_ts=job.message_ts,
            **unreadable_found_message(mms_ids).as_kwargs(),
        )

    def alma_blocked(self, text: str) -> None:
        self.client.chat_postMessage(channel=self.channel, **alma_blocked_message(text).as_kwargs())
