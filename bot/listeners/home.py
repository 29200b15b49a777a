"""The app's Home tab: the Program Manager's queue, published when it is opened (and,
debounced, whenever cases change: see SlackCaseNotifier.refresh_home)."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict) -> None:
        user = event.get("user") or ""
        if event.get("tab", "home") != "home" or not user:
            return
        services.later(lambda: services.cases.notifier.publish_home(user))
