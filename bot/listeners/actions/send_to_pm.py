"""The "Send to the Program Manager" button of a multi-match lookup."""

from __future__ import annotations

from bot.case_messages import case_sent_message
from bot.errors import user_message
from bot.listeners.answering import pressed_once
from bot.messages import error_message
from bot.services import Services
from nzbot.access import Actor


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    """The policy has checked the button was pressed in a member's channel: the record is
    looked up in that member's IZ."""
    pressed = pressed_once(services.store, ack, body, respond)
    if pressed is None:  # pressed twice, or a forged value (refused before anything looks it up)
        return
    user, iz_mms_id = body.get("user", {}).get("id", ""), pressed.mms_id

    services = services.for_actor(actor)

    def work() -> None:
        try:
            case, new = services.cases.send_to_pm(iz_mms_id, user)
        except Exception as exc:
            respond(response_type="ephemeral", replace_original=False,
                    **error_message(user_message(exc)).as_kwargs())
            return
        respond(response_type="ephemeral", replace_original=False,
                **case_sent_message(case, new, services.settings.pm_users).as_kwargs())

    services.later(work)
