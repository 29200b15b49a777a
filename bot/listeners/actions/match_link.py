""""Link to this record" on a /nz match answer: a cataloger links their own IZ record to an
NZ match (the guidance's Method 2). The access policy let only those who may start link
jobs in this channel through; the answer is replaced as the link moves on
(bot.case_notifier: the cataloger's answer)."""

from __future__ import annotations

from bot.case_messages import already_decided_message
from bot.errors import user_message
from bot.listeners.answering import pressed_once
from bot.messages import error_message, working_message
from bot.services import Services
from nzbot.access import Actor
from nzbot.cases import AlreadyDecided


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    pressed = pressed_once(services.store, ack, body, respond)
    if pressed is None:  # pressed twice, or a forged value (refused before anything looks it up)
        return
    services = services.for_actor(actor)  # the channel's member: its IZ, its cases
    respond(replace_original=True, **working_message(
        "Linking", f"IZ record {pressed.iz_mms_id} to NZ record {pressed.mms_id}").as_kwargs())

    def work() -> None:
        try:
            services.cases.cataloger_link(pressed.iz_mms_id, pressed.mms_id, actor.user,
                                          answer_url=body.get("response_url"), answer_channel=actor.channel)
        except AlreadyDecided as exc:
            respond(response_type="ephemeral", replace_original=False,
                    **already_decided_message(exc.case).as_kwargs())
            return
        except Exception as exc:
            respond(response_type="ephemeral", replace_original=True, **error_message(user_message(exc)).as_kwargs())
            return
        services.cases.advance()  # start on it now (a round running goes once more)

    services.later(work)
