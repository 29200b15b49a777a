"""/nz schedule SET daily HH:MM, or SET weekly DAY HH:MM: the link job on SET at that time,
in NZBOT_TIMEZONE, requested as /nz link SET requests it (nzbot/schedules.py). The words
are checked at the ack; the set, as /nz link checks it, after."""

from __future__ import annotations

from datetime import datetime, timezone

from alma.errors import BadInput
from bot.errors import user_message
from bot.messages import error_message, schedule_made_message, usage_message, working_message
from bot.services import Services
from nzbot.access import Actor
from nzbot.schedules import ScheduleRequest, When, parse_schedule


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    """The policy has checked that `actor` may start link jobs in this channel."""
    try:
        request = parse_schedule(args)
    except BadInput as exc:  # nothing kept: said at once
        ack(response_type="ephemeral", **usage_message(str(exc)).as_kwargs())
        return
    ack(response_type="ephemeral", **working_message("Checking set", request.set_ref).as_kwargs())
    services.later(lambda: respond(response_type="ephemeral", **make(services, actor, request).as_kwargs()))


def make(services: Services, actor: Actor, request: ScheduleRequest):
    try:
        schedule = services.schedules.make(request, actor.user, actor.channel)
    except Exception as exc:  # the set unknown, not bib records, Alma down: nothing kept
        return error_message(user_message(exc))
    schedules = services.schedules
    first = When.decode(schedule.cadence).next_due(schedules.zone, datetime.now(timezone.utc))
    return schedule_made_message(schedule, schedules.local_words(first), services.settings.timezone)
