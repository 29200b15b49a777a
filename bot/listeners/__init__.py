"""Listeners, grouped by Slack surface; each group has a register(app, services)."""

from __future__ import annotations

from slack_bolt import App

from bot.access import resolve_actor
from bot.listeners import actions, commands, direct_messages, home, shortcuts, views
from bot.services import Services


def register_listeners(app: App, services: Services) -> None:
    app.middleware(resolve_actor(services))  # who is asking, where: once per request
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    shortcuts.register(app, services)
    home.register(app, services)
    direct_messages.register(app, services)
