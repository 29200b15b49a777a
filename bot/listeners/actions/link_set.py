""""Link these N records" under the preview of a set made from the modal: the link job on
that set, exactly as `/nz link SET [contribute]` asks for it. The access policy let only
those who may start link jobs in this channel through."""

from __future__ import annotations

from bot.listeners.answering import pressed_once
from bot.listeners.commands.link import request_link_job
from bot.messages import working_message
from bot.services import Services
from nzbot.access import Actor


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    pressed = pressed_once(services.store, ack, body, respond)
    if pressed is None:  # pressed twice, or a forged value (refused before anything looks it up)
        return
    services = services.for_actor(actor)
    # the preview gives way to the request's answer: its button cannot be pressed twice
    respond(replace_original=True, **working_message("Checking set", pressed.set_id).as_kwargs())

    def answer(message) -> None:
        respond(replace_original=True, **message.as_kwargs())

    services.later(lambda: request_link_job(services, actor, pressed.set_id, pressed.contribute, answer))
