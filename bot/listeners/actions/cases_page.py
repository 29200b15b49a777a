"""Previous / Next on the /nz cases answer: the other page, in place of the (ephemeral)
answer through its response_url; acked at once, read after the ack."""

from __future__ import annotations

from alma.errors import BadInput
from bot import action_ids
from bot.listeners.commands.cases import open_cases_page
from bot.messages import error_message
from bot.services import Services
from nzbot.access import Actor


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    ack()
    action = action_ids.pressed(body)
    try:
        page = action_ids.read(str(action.get("action_id") or ""), action.get("value")).page or 1
    except BadInput as exc:
        respond(response_type="ephemeral", replace_original=False, **error_message(str(exc)).as_kwargs())
        return
    # cases settled since the page was shown may leave fewer pages: show the last one
    services = services.for_actor(actor)  # the page of the cases this person may see, as /nz cases
    services.later(lambda: respond(replace_original=True, **open_cases_page(
        services, page, scope=actor.list_scope, past_the_end="last").as_kwargs()))
