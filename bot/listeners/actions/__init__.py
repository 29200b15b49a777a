"""Button clicks (block_actions): one small module per kind of button."""

from __future__ import annotations

from slack_bolt import App

from bot import action_ids
from bot.listeners.actions import case_buttons, cases_page, review, send_to_pm
from bot.listeners.answering import answering
from bot.services import Services
from nzbot.states import Decision


def register(app: App, services: Services) -> None:
    @app.action(action_ids.SEND_TO_PM)
    @answering(services.store)
    def send_to_pm_clicked(ack, body, respond):
        send_to_pm.handle(services, ack, body, respond)

    for action_id, decision in (
        (action_ids.LINK_CANDIDATE, Decision.LINK),
        (action_ids.CONTRIBUTE_NEW, Decision.CONTRIBUTE),
        (action_ids.SKIP_CASE, Decision.SKIP),
        (action_ids.RECHECK_CASE, Decision.RECHECK),
        (action_ids.MERGE_INTO, Decision.MERGE),
    ):
        app.action(action_ids.pattern(action_id))(answering(services.store)(case_buttons.decision_listener(services, decision)))

    @app.action(action_ids.pattern(action_ids.CASE_PAGE))
    @answering(services.store)
    def case_page_clicked(ack, body, respond):
        case_buttons.turn_page(services, ack, body, respond)

    @app.action(action_ids.REVIEW_CASES)
    @answering(services.store)
    def review_clicked(ack, body, respond):
        review.handle(services, ack, body, respond)

    @app.action(action_ids.pattern(action_ids.CASES_PAGE))
    @answering(services.store)
    def cases_page_clicked(ack, body, respond):
        cases_page.handle(services, ack, body, respond)
