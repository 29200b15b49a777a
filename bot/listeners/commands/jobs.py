"""/nz jobs: running and recent link jobs, from nzbot's own records (no Alma call)."""

from __future__ import annotations

from bot.messages import MAX_JOBS_SHOWN, jobs_message, usage_message
from bot.services import Services
from nzbot.access import Actor, Scope


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if args:
        ack(response_type="ephemeral", **usage_message("/nz jobs takes nothing after it.").as_kwargs())
        return
    scope = Scope.member(actor.member.code)  # the channel's member's
    jobs = services.store.recent_link_jobs(MAX_JOBS_SHOWN, scope=scope)
    ack(response_type="ephemeral", **jobs_message(jobs, services.store.link_job_counts(scope=scope)).as_kwargs())
