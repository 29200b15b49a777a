"""/nz stats [WEEKS]: the figures week by week, from nzbot's own records (no Alma call):
a member's channel its own, the Program Manager's place every member's side by side.
Acked at once; counted and answered after the ack."""

from __future__ import annotations

from bot.messages import usage_message
from bot.services import Services
from bot.stats_messages import stats_message
from nzbot.access import Actor
from nzbot.stats import figures, parse_weeks


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    try:
        weeks = parse_weeks(args)
    except ValueError as exc:
        ack(response_type="ephemeral", **usage_message(f"/nz stats {exc}.").as_kwargs())
        return
    scope = actor.list_scope  # the policy allowed it: every member's to the PM, else the channel's member's
    ack(response_type="ephemeral", text="Counting…")

    def answer() -> None:
        found = figures(services.store, services.settings, weeks, scope=scope, now=services.clock())
        respond(response_type="ephemeral", **stats_message(found, every_member=scope.every_member).as_kwargs())

    services.later(answer)
