"""Shortcuts (message_action): one small module each. Each goes through the access policy
(bot.access.guarded) before it runs; a message shortcut names its channel."""

from __future__ import annotations

from slack_bolt import App

from bot import action_ids
from bot.access import guarded
from bot.listeners.answering import answering
from bot.listeners.shortcuts import check_matches
from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.shortcut(action_ids.CHECK_NZ_MATCHES)
    @answering(services.store)
    @guarded(services, action_ids.CHECK_NZ_MATCHES)
    def check_nz_matches(ack, body, respond, actor):
        check_matches.handle(services, ack, body, respond, actor)
