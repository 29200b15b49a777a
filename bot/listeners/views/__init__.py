"""Modal submissions (view_submission): one small module per modal. Each goes through the
access policy (bot.access.guarded) before it runs; a modal's channel is its private_metadata's."""

from __future__ import annotations

from slack_bolt import App

from bot import action_ids
from bot.access import guarded
from bot.listeners.answering import answering
from bot.listeners.views import link_sets
from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.view(action_ids.LINK_MODAL)
    @answering(services.store)
    @guarded(services, action_ids.LINK_MODAL)
    def link_modal_submitted(ack, body, actor):
        link_sets.submitted(services, ack, body, actor)
