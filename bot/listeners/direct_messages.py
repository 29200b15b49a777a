"""A message typed to the bot in its Messages tab (its DM): nzbot reads commands, not
messages, so it answers with the help rather than silence. Its own posts there (the
Program Manager's case messages), edits and other subtypes are not answered."""

from __future__ import annotations

from slack_bolt import App

from bot.access import DIRECT_MESSAGE, guarded
from bot.messages import help_message
from bot.services import Services
from nzbot.access import Actor


def register(app: App, services: Services) -> None:
    @app.event({"type": "message", "channel_type": "im"})
    @guarded(services, DIRECT_MESSAGE)
    def typed_to_the_bot(event: dict, actor: Actor) -> None:
        if event.get("bot_id") or event.get("subtype") or event.get("thread_ts") or not actor.user:
            return  # nzbot's own messages (no loop), edits and joins, replies in a thread
        channel = event.get("channel")
        if not isinstance(channel, str) or not channel.startswith("D"):
            return
        services.later(lambda: services.slack.chat_postMessage(
            channel=channel, **help_message(typed_to_me=True).as_kwargs()))
