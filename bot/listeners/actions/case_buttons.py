"""The case message's buttons: link to a candidate, accept the suggestion, contribute as
new, skip, re-check, and turning the page of candidates. Only the Program Manager may
decide, and only the Program Manager and the case's own member see it (bot.access checked
before these run)."""

from __future__ import annotations

from collections.abc import Callable

from bot.action_ids import ButtonValue
from bot.case_messages import already_decided_message, case_message
from bot.errors import user_message
from bot.listeners.answering import pressed_once
from bot.messages import error_message
from bot.services import Services
from nzbot.cases import AlreadyDecided, Cases


def decision_listener(services: Services, decision: str):
    def listener(ack, body, respond, actor):
        decide(services, lambda cases, pressed, user: cases.decide(pressed.case_id, user, decision, pressed.mms_id),
               ack, body, respond)

    return listener


def accept_listener(services: Services):
    """"Accept the suggestion": a link to the suggested candidate, as a pick would be."""
    def listener(ack, body, respond, actor):
        decide(services, lambda cases, pressed, user: cases.accept(pressed.case_id, user, pressed.mms_id),
               ack, body, respond)

    return listener


def decide(services: Services, act: Callable[[Cases, ButtonValue, str], object], ack, body: dict, respond) -> None:
    pressed = pressed_once(services.store, ack, body, respond)
    if pressed is None:  # pressed twice, or a forged value
        return
    user = body.get("user", {}).get("id", "")
    try:
        services = services.member_of_case(pressed.case_id)  # its member's cases and Alma
        act(services.cases, pressed, user)
    except AlreadyDecided as exc:
        respond(response_type="ephemeral", replace_original=False,
                **already_decided_message(exc.case).as_kwargs())
        return
    except Exception as exc:
        respond(response_type="ephemeral", replace_original=False,
                **error_message(user_message(exc)).as_kwargs())
        return
    services.later(services.cases.advance)  # start on it now, not at the next round


def turn_page(services: Services, ack, body: dict, respond) -> None:
    pressed = pressed_once(services.store, ack, body, respond, once=False)  # turning a page twice is harmless
    if pressed is None:
        return
    try:
        services = services.member_of_case(pressed.case_id)
        case = services.cases.case(pressed.case_id)
    except Exception as exc:
        respond(response_type="ephemeral", replace_original=False,
                **error_message(user_message(exc)).as_kwargs())
        return
    respond(replace_original=True, **case_message(
        case, page=pressed.page, institution=services.institution.label if services.institution else "").as_kwargs())
