"""/nz schedules: this member's schedules, each with its id, set, when, next run and last
result (from nzbot's own records: no Alma call)."""

from __future__ import annotations

from bot.messages import schedules_message, usage_message
from bot.services import Services
from nzbot.access import Actor, Scope


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if args:
        ack(response_type="ephemeral", **usage_message("/nz schedules takes nothing after it.").as_kwargs())
        return
    listed = services.schedules.listed(scope=Scope.member(actor.member.code))  # the channel's member's
    ack(response_type="ephemeral", **schedules_message(listed, services.settings.timezone).as_kwargs())
