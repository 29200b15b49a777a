"""/nz unschedule N: removes schedule N of this channel's member (its runs already
requested go on). Another member's schedule is refused, as another member's case is."""

from __future__ import annotations

import re

from bot.access import refuse, subcommand
from bot.messages import error_message, schedule_removed_message, usage_message
from bot.rendering import Message
from bot.services import Services
from nzbot.access import Actor, Need, Scope

_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits, within SQLite's integers
SURFACE = subcommand("unschedule")


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if len(args) != 1 or not _NUMBER.fullmatch(args[0]):
        ack(response_type="ephemeral", **usage_message(
            "/nz unschedule needs the number of one schedule, as /nz schedules lists it (such as 3).").as_kwargs())
        return
    schedule_id = int(args[0])
    owner = services.store.schedule_owner(schedule_id)
    refusal = services.policy.refusal(actor, Need.JOB_STARTER, owner) if owner is not None else None
    if refusal is not None:  # another member's: refused and audited like any refusal
        refuse(services, SURFACE, actor, refusal, {"ack": ack, "command": command, "respond": respond})
        return
    ack(response_type="ephemeral", text=f"Removing schedule {schedule_id}…")  # before the write

    def remove() -> None:
        removed = services.schedules.remove(schedule_id, actor.user, scope=Scope.member(actor.member.code))
        respond(response_type="ephemeral", **answer(schedule_id, removed).as_kwargs())

    services.later(remove)


def answer(schedule_id: int, removed: bool) -> Message:
    if not removed:
        return error_message(f"There is no schedule {schedule_id}: /nz schedules lists yours. Nothing was changed.")
    return schedule_removed_message(schedule_id)
