"""Button clicks (block_actions): one small module per kind of button. Each goes through
the access policy (bot.access.guarded) before it runs."""

from __future__ import annotations

from slack_bolt import App

from bot import action_ids
from bot.access import guarded
from bot.listeners.actions import accept_all, case_buttons, cases_page, link_set, match_link, review, send_to_pm
from bot.listeners.answering import answering
from bot.services import Services
from nzbot.states import Decision


def register(app: App, services: Services) -> None:
    @app.action(action_ids.SEND_TO_PM)
    @answering(services.store)
    @guarded(services, action_ids.SEND_TO_PM)
    def send_to_pm_clicked(ack, body, respond, actor):
        send_to_pm.handle(services, ack, body, respond, actor)

    for action_id, decision in (
        (action_ids.LINK_CANDIDATE, Decision.LINK),
        (action_ids.CONTRIBUTE_NEW, Decision.CONTRIBUTE),
        (action_ids.SKIP_CASE, Decision.SKIP),
        (action_ids.RECHECK_CASE, Decision.RECHECK),
        (action_ids.MERGE_INTO, Decision.MERGE),
    ):
        app.action(action_ids.pattern(action_id))(answering(services.store)(
            guarded(services, action_id)(case_buttons.decision_listener(services, decision))))

    app.action(action_ids.ACCEPT_SUGGESTION)(answering(services.store)(
        guarded(services, action_ids.ACCEPT_SUGGESTION)(case_buttons.accept_listener(services))))

    @app.action(action_ids.ACCEPT_ALL)
    @answering(services.store)
    @guarded(services, action_ids.ACCEPT_ALL)
    def accept_all_clicked(ack, body, respond, actor):
        accept_all.handle(services, ack, body, respond)

    @app.action(action_ids.pattern(action_ids.CASE_PAGE))
    @answering(services.store)
    @guarded(services, action_ids.CASE_PAGE)
    def case_page_clicked(ack, body, respond, actor):
        case_buttons.turn_page(services, ack, body, respond)

    @app.action(action_ids.REVIEW_CASES)
    @answering(services.store)
    @guarded(services, action_ids.REVIEW_CASES)
    def review_clicked(ack, body, respond, actor):
        review.handle(services, ack, body, respond)

    @app.action(action_ids.pattern(action_ids.MATCH_LINK))
    @answering(services.store)
    @guarded(services, action_ids.MATCH_LINK)
    def match_link_clicked(ack, body, respond, actor):
        match_link.handle(services, ack, body, respond, actor)

    @app.action(action_ids.pattern(action_ids.CASES_PAGE))
    @answering(services.store)
    @guarded(services, action_ids.CASES_PAGE)
    def cases_page_clicked(ack, body, respond, actor):
        cases_page.handle(services, ack, body, respond, actor)

    @app.action(action_ids.LINK_SET)
    @answering(services.store)
    @guarded(services, action_ids.LINK_SET)
    def link_set_clicked(ack, body, respond, actor):
        link_set.handle(services, ack, body, respond, actor)
