""""Link these N records" under the preview of a set made from the modal: the link job on
that set, exactly as `/nz link SET [contribute]` asks for it. The access policy let only
those who may start link jobs in this channel through."""

from __future__ import annotations

from bot import action_ids
from bot.errors import user_message
from bot.listeners.commands.link import request_link_job
from bot.messages import error_message, working_message
from bot.services import Services
from nzbot.access import Actor


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    ack()
    action = action_ids.pressed(body)
    if not services.store.first_time(f"action:{body.get('trigger_id')}:{action.get('action_ts')}"):
        return  # the same press delivered twice
    try:
        pressed = action_ids.read(str(action.get("action_id") or ""), action.get("value"))
    except Exception as exc:  # a forged value: refused before anything looks it up
        respond(response_type="ephemeral", replace_original=False, **error_message(user_message(exc)).as_kwargs())
        return
    services = services.for_actor(actor)
    # the preview gives way to the request's answer: its button cannot be pressed twice
    respond(replace_original=True, **working_message("Checking set", pressed.set_id).as_kwargs())

    def answer(message) -> None:
        respond(replace_original=True, **message.as_kwargs())

    services.later(lambda: request_link_job(services, actor, pressed.set_id, pressed.contribute, answer))
