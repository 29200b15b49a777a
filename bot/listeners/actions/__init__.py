"""Button clicks (block_actions)."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services


def register(app: App, services: Services) -> None:
    """The case buttons arrive with the multi-match issue; nothing to register yet."""
