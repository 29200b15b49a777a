"""/nz link SET [contribute]: run the link job on a set, with the guidance's parameters."""

from __future__ import annotations

from bot.errors import user_message
from bot.messages import (
    error_message,
    link_requested_message,
    not_allowed_message,
    usage_message,
    working_message,
)
from bot.services import Services



def handle(services: Services, ack, args: list[str], command: dict, respond) -> None:
    contribute = bool(args) and args[-1].lower() == "contribute"
    set_words = args[:-1] if contribute else args
    if not set_words:
        ack(response_type="ephemeral", **usage_message("/nz link needs a set id or a set name.").as_kwargs())
        return
    user, channel = command.get("user_id", ""), command.get("channel_id", "")
    institution = services.institution or services.settings.institutions[0]
    if not institution.may_start_jobs(user, channel):
        ack(response_type="ephemeral", **not_allowed_message(institution.report_channel).as_kwargs())
        services.store.audit(user, "link_requested", " ".join(set_words), "not allowed", channel)
        return
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
