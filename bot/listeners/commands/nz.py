"""/nz: parse the subcommand, refuse what is malformed, hand the rest to its module.

Every path acks at once, before anything is written to the database (which another
writer may hold); anything that writes or calls Alma runs after the ack and answers
through `respond`, so Slack's 3 seconds are kept however slow Alma or the database is.
"""

from __future__ import annotations

from bot.listeners.commands import cases, jobs, link, match, preview
from bot.messages import help_message, not_linked_message, usage_message
from bot.services import Services

SUBCOMMANDS = {
    "match": match,
    "preview": preview,
    "link": link,
    "jobs": jobs,
    "cases": cases,
}


class Repeated(Exception):
    """Slack delivered this command before (a retry after a slow network): it was acked
    again, and nothing more is done."""


def handle(services: Services, ack, command: dict, respond, request) -> None:
    trigger = command.get("trigger_id") or ""

    def ack_then_act_once(*args, **kwargs):
        # The ack goes first, before any write that could wait on a locked database;
        # then a command seen before stops here.
        answer = ack(*args, **kwargs)
        if trigger and not services.store.first_time(f"command:{trigger}"):
            raise Repeated(trigger)
        return answer

    try:
        _dispatch(services, ack_then_act_once, command, respond)
    except Repeated:
        return


def _dispatch(services: Services, ack, command: dict, respond) -> None:
    words = (command.get("text") or "").split()
    if not words or words[0].lower() == "help":
        ack(response_type="ephemeral", **help_message().as_kwargs())
        return
    module = SUBCOMMANDS.get(words[0].lower())
    if module is None:
        ack(response_type="ephemeral",
            **usage_message(f"I don't know the subcommand {words[0]!r}.").as_kwargs())
        return
    # Each command acts on the institution whose channel it came from (consortium mode);
    # /nz cases in the Program Manager's DM or channel lists every member's cases.
    user, channel = command.get("user_id", ""), command.get("channel_id", "")
    member = services.member_for_channel(channel)
    if member is not None:
        services = services.for_member(member)
    elif not (module is cases and services.pm_place(user, channel)):
        ack(response_type="ephemeral", **not_linked_message(services.settings.institutions).as_kwargs())
        return
    module.handle(services, ack, words[1:], command, respond)
