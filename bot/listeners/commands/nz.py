"""/nz: parse the subcommand, refuse what is malformed, hand the rest to its module.

Every path acks at once; anything that calls Alma runs after the ack and answers
through `respond`, so Slack's 3 seconds are kept however slow Alma is.
"""

from __future__ import annotations

from bot.listeners.commands import cases, jobs, link, match, preview
from bot.messages import help_message, usage_message
from bot.services import Services

SUBCOMMANDS = {
    "match": match,
    "preview": preview,
    "link": link,
    "jobs": jobs,
    "cases": cases,
}


def handle(services: Services, ack, command: dict, respond, request) -> None:
    # Slack may deliver a command twice (a retry after a slow network): act once.
    trigger = command.get("trigger_id") or ""
    if trigger and not services.store.first_time(f"command:{trigger}"):
        ack()
        return
    words = (command.get("text") or "").split()
    if not words or words[0].lower() == "help":
        ack(response_type="ephemeral", **help_message().as_kwargs())
        return
    module = SUBCOMMANDS.get(words[0].lower())
    if module is None:
        ack(response_type="ephemeral",
            **usage_message(f"I don't know the subcommand {words[0]!r}.").as_kwargs())
        return
    module.handle(services, ack, words[1:], command, respond)
