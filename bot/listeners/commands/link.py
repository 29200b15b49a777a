"""/nz link SET [contribute]: run the link job on a set, with the guidance's parameters."""

from __future__ import annotations

from bot.errors import user_message
from bot.messages import error_message, link_requested_message, usage_message, working_message
from bot.services import Services
from nzbot.access import Actor


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    """The policy has checked that `actor` may start link jobs in this channel."""
    contribute = bool(args) and args[-1].lower() == "contribute"
    set_words = args[:-1] if contribute else args
    if not set_words:
        ack(response_type="ephemeral", **usage_message("/nz link needs a set id or a set name.").as_kwargs())
        return
    user, channel = actor.user, actor.channel
    institution = actor.member
    set_ref = " ".join(set_words)
    ack(response_type="ephemeral", **working_message("Checking set", set_ref).as_kwargs())

    def work() -> None:
        try:
            job = services.link_jobs.request(set_ref, user, channel, contribute=contribute)
        except Exception as exc:
            respond(response_type="ephemeral", **error_message(user_message(exc)).as_kwargs())
            return
        respond(response_type="ephemeral",
                **link_requested_message(job, institution.report_channel).as_kwargs())

    services.later(work)
