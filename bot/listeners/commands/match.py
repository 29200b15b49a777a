"""/nz match ID: what an IZ record (or an OCLC number) would link to."""

from __future__ import annotations

from bot import action_ids
from bot.access import refusal_for
from bot.errors import user_message
from bot.messages import error_message, match_message, usage_message, working_message
from bot.services import Services
from nzbot.access import Actor
from nzbot.lookups import match_identifier



def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if len(args) != 1:
        ack(response_type="ephemeral", **usage_message("/nz match needs one IZ MMS ID or OCLC number.").as_kwargs())
        return
    identifier = args[0]
    ack(response_type="ephemeral", **working_message("Looking up", identifier).as_kwargs())

    def work() -> None:
        try:
            found = match_identifier(services.alma, identifier).match
        except Exception as exc:
            respond(response_type="ephemeral", **error_message(user_message(exc)).as_kwargs())
            return
        # "Link to this record" for those who may start link jobs here (the policy says)
        can_link = refusal_for(services, action_ids.MATCH_LINK, actor) is None
        respond(response_type="ephemeral", **match_message(
            found, can_link=can_link, rules=services.settings.suggestion_rules).as_kwargs())

    services.later(work)
