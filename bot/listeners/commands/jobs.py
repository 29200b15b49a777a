"""/nz jobs: running and recent link jobs, from nzbot's own records (no Alma call)."""

from __future__ import annotations

from bot.messages import jobs_message, usage_message
from bot.services import Services
from nzbot.access import Actor, Scope


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if args:
        ack(response_type="ephemeral", **usage_message("/nz jobs takes nothing after it.").as_kwargs())
        return
    jobs = services.store.recent_link_jobs(10, scope=Scope.member(actor.member.code))  # the channel's member's
    ack(response_type="ephemeral", **jobs_message(jobs).as_kwargs())
