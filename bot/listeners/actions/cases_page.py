"""Previous / Next on the /nz cases answer: the other page, in place of the (ephemeral)
answer through its response_url; acked at once, read after the ack."""

from __future__ import annotations

from bot.listeners.answering import pressed_once
from bot.listeners.commands.cases import open_cases_page
from bot.services import Services
from nzbot.access import Actor


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    pressed = pressed_once(services.store, ack, body, respond, once=False)  # turning a page twice is harmless
    if pressed is None:
        return
    page = pressed.page or 1
    # cases settled since the page was shown may leave fewer pages: show the last one
    services = services.for_actor(actor)  # the page of the cases this person may see, as /nz cases
    services.later(lambda: respond(replace_original=True, **open_cases_page(
        services, page, scope=actor.list_scope, past_the_end="last").as_kwargs()))
