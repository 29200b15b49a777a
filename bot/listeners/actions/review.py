"""The Program Manager's "Review cases" (a job's queue message) and "Review next" (the
Home tab): the next case to decide, shown in place of the queue message's content."""

from __future__ import annotations

import logging

from bot.errors import user_message
from bot.listeners.answering import pressed_once
from bot.messages import error_message
from bot.services import Services

log = logging.getLogger(__name__)


def handle(services: Services, ack, body: dict, respond) -> None:
    pressed = pressed_once(services.store, ack, body, respond)
    if pressed is None:  # pressed twice, or a forged value
        return
    user = body.get("user", {}).get("id", "")
    container = body.get("container") or {}
    in_message = container.get("type") == "message"
    channel = container.get("channel_id") if in_message else None
    ts = container.get("message_ts") if in_message else None  # None from the Home tab
    try:
        services.cases.review(user, channel, ts, pressed.link_job)
    except Exception as exc:
        message = error_message(user_message(exc))
        if not body.get("response_url"):  # the Home tab has nowhere to answer
            log.warning("review by %s refused: %s", user, exc)
            return
        respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
