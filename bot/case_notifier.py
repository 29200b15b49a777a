"""The cases' CaseNotifier, in Slack: each case as a message to every Program Manager
(a DM each, or the PM channel), updated in place as the case moves, and a reply in the
thread of the link job that revealed it."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.messages import case_handoff_message, case_message, case_outcome_message
from nzbot.institutions import Institution
from nzbot.settings import BotSettings
from nzbot.store import Case, LinkJob, Store


HANDOFF_EVENT = "nzbot_case_handoff"


class SlackCaseNotifier:
    def __init__(self, client: WebClient, store: Store, settings: BotSettings,
                 institution: Institution | None = None) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        # the member whose cases these are: hand-offs go to its report channel, and the
        # Program Manager's messages name it (consortium mode)
        self.institution = institution or settings.institutions[0]
        self.report_channel = self.institution.report_channel

    def show_case(self, case: Case) -> None:
        message = case_message(case, institution=self.institution.label).as_kwargs()
        shown = dict(self.store.case_messages(case.id))
        for channel in self._recipients():
            if channel in shown:
                self.client.chat_update(channel=channel, ts=shown[channel], **message)
            else:
                ts = self.client.chat_postMessage(channel=channel, **message)["ts"]
                self.store.add_case_message(case.id, channel, ts)

    def case_settled(self, case: Case, revealed_by: LinkJob | None) -> None:
        if revealed_by is None or not revealed_by.message_ts:
            return  # sent from a lookup: the PM's message is the record
        self.client.chat_postMessage(
            channel=self.report_channel, thread_ts=revealed_by.message_ts,
            **case_outcome_message(case).as_kwargs(),
        )

    def hand_off(self, case: Case, revealed_by: LinkJob | None) -> str | None:
        """The cataloger's steps, in the revealing job's thread (found again there by its
        metadata after a crash, never posted twice), or in the report channel."""
        thread = revealed_by.message_ts if revealed_by is not None else None
        metadata = {"event_type": HANDOFF_EVENT, "event_payload": {"case": case.id}}
        if thread:
            seen = self.client.conversations_replies(
                channel=self.report_channel, ts=thread, include_all_metadata=True, limit=200)
        else:  # at the top of the channel: among its latest messages (newest first)
            seen = self.client.conversations_history(
                channel=self.report_channel, include_all_metadata=True, limit=200)
        for message in seen.get("messages", []):
            found = message.get("metadata") or {}
            if found.get("event_type") == HANDOFF_EVENT and (found.get("event_payload") or {}).get("case") == case.id:
                return message["ts"]
        response = self.client.chat_postMessage(
            channel=self.report_channel, thread_ts=thread, metadata=metadata,
            **case_handoff_message(case, bool(thread)).as_kwargs())
        return response["ts"]

    def _recipients(self) -> list[str]:
        """The PM channel, or a DM channel with each Program Manager."""
        if self.settings.pm_channel:
            return [self.settings.pm_channel]
        channels = []
        for user in self.settings.pm_users:
            key = f"dm:{user}"
            channel = self.store.recall(key)
            if not channel:
                channel = self.client.conversations_open(users=user)["channel"]["id"]
                self.store.remember(key, channel)
            channels.append(channel)
        return channels
