"""/nz history ID: an IZ record of this channel's member as it was before nzbot linked it."""

from __future__ import annotations

from bot.errors import user_message
from bot.messages import error_message, history_message, usage_message
from bot.services import Services
from nzbot.access import Actor, Scope
from nzbot.lookups import record_history


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if len(args) != 1:
        ack(response_type="ephemeral", **usage_message("/nz history needs one IZ MMS ID.").as_kwargs())
        return
    try:  # the channel's member's own records
        mms_id, kept = record_history(services.store, args[0], Scope.member(actor.member.code))
    except Exception as exc:
        ack(response_type="ephemeral", **error_message(user_message(exc)).as_kwargs())
        return
    ack(response_type="ephemeral", **history_message(mms_id, kept).as_kwargs())
