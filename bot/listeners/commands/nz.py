"""/nz: parse the subcommand, refuse what is malformed, hand the rest to its module.

Every path acks at once, before anything is written to the database (which another
writer may hold); anything that writes or calls Alma runs after the ack and answers
through `respond`, so Slack's 3 seconds are kept however slow Alma or the database is.
"""

from __future__ import annotations

from bot.access import refusal_for, refuse, subcommand
from bot.listeners.commands import cases, history, jobs, link, match, preview, schedule, schedules, stats, unschedule
from bot.messages import help_message, usage_message
from bot.services import Services
from nzbot.access import Actor

SUBCOMMANDS = {
    "match": match,
    "preview": preview,
    "link": link,
    "jobs": jobs,
    "cases": cases,
    "history": history,
    "schedule": schedule,
    "schedules": schedules,
    "unschedule": unschedule,
    "stats": stats,
}


class Repeated(Exception):
    """Slack delivered this command before (a retry after a slow network): it was acked
    again, and nothing more is done."""


def handle(services: Services, ack, command: dict, respond, actor: Actor) -> None:
    trigger = command.get("trigger_id") or ""

    def ack_then_act_once(*args, **kwargs):
        # The ack goes first, before any write that could wait on a locked database;
        # then a command seen before stops here.
        answer = ack(*args, **kwargs)
        if trigger and not services.store.first_time(f"command:{trigger}"):
            raise Repeated(trigger)
        return answer

    try:
        _dispatch(services, ack_then_act_once, command, respond, actor)
    except Repeated:
        return


def _dispatch(services: Services, ack, command: dict, respond, actor: Actor) -> None:
    words = (command.get("text") or "").split()
    if not words or words[0].lower() == "help":
        ack(response_type="ephemeral", **help_message().as_kwargs())
        return
    name = words[0].lower()
    module = SUBCOMMANDS.get(name)
    if module is None:
        ack(response_type="ephemeral",
            **usage_message(f"I don't know the subcommand {words[0]!r}.").as_kwargs())
        return
    # The policy says whether this person may use it here; a command then acts on the
    # member whose channel it came from (the PM's DM or channel: every member's cases).
    refusal = refusal_for(services, subcommand(name), actor)
    if refusal is not None:
        refuse(services, subcommand(name), actor, refusal, {"ack": ack, "command": command, "respond": respond})
        return
    module.handle(services.for_actor(actor), ack, words[1:], command, respond, actor)
