"""The app's Home tab: the Program Manager's queue, published when it is opened (and,
debounced, whenever cases change: see SlackCaseNotifier.refresh_home). Anyone else sees
where nzbot is used instead: the queue holds every member's cases."""

from __future__ import annotations

from slack_bolt import App

from bot.access import HOME_OPENED, guarded
from bot.case_messages import home_elsewhere_view
from bot.services import Services
from nzbot.access import Actor


def register(app: App, services: Services) -> None:
    def elsewhere(actor: Actor) -> None:
        services.later(lambda: services.slack.views_publish(
            user_id=actor.user, view=home_elsewhere_view(services.settings.institutions)))

    @app.event(HOME_OPENED)
    @guarded(services, HOME_OPENED, refused=elsewhere)
    def home_opened(event: dict, actor: Actor) -> None:
        if event.get("tab", "home") != "home" or not actor.user:
            return
        services.later(lambda: services.cases.notifier.publish_home(actor.user))
