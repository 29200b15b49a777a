"""/nz preview SET: what the link job would do to each member of a set."""

from __future__ import annotations

from alma.preview import count_set, open_set
from bot.errors import user_message
from bot.messages import error_message, preview_message, usage_message, working_message
from bot.services import Services



def handle(services: Services, ack, args: list[str], command: dict, respond) -> None:
    if not args:
        ack(response_type="ephemeral", **usage_message("/nz preview needs a set id or a set name.").as_kwargs())
        return
    set_ref = " ".join(args)
    ack(response_type="ephemeral", **working_message("Previewing set", set_ref).as_kwargs())

    def work() -> None:
        calls_before = sum(services.alma.http.calls.values())
        try:
            heading = open_set(services.alma, set_ref)
            counts = count_set(services.alma, heading)
        except Exception as exc:
            respond(response_type="ephemeral", **error_message(user_message(exc)).as_kwargs())
            return
        calls = sum(services.alma.http.calls.values()) - calls_before
        respond(response_type="ephemeral",
                **preview_message(heading.set, counts.counts, counts.examples, calls).as_kwargs())

    services.later(work)
