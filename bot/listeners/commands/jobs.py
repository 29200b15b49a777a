"""/nz jobs: running and recent link jobs, from nzbot's own records (no Alma call)."""

from __future__ import annotations

from bot.messages import jobs_message, usage_message
from bot.services import Services


def handle(services: Services, ack, args: list[str], command: dict, respond) -> None:
    if args:
        ack(response_type="ephemeral", **usage_message("/nz jobs takes nothing after it.").as_kwargs())
        return
    ack(response_type="ephemeral", **jobs_message(services.store.recent_link_jobs(10)).as_kwargs())
