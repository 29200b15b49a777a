"""/nz link SET [contribute]: run the link job on a set, with the guidance's parameters."""

from __future__ import annotations

from bot.errors import user_message
from bot.messages import error_message, usage_message
from bot.services import Services

USAGE = "/nz link SET [contribute]: SET is a set id or its exact name"


def handle(services: Services, ack, args: list[str], command: dict, respond) -> None:
    contribute = bool(args) and args[-1].lower() == "contribute"
    set_words = args[:-1] if contribute else args
    if not set_words:
        ack(response_type="ephemeral", **usage_message(f"Usage: {USAGE}").as_kwargs())
        return
    user, channel = command.get("user_id", ""), command.get("channel_id", "")
    if not services.settings.may_start_jobs(user, channel):
        services.store.audit(user, "link_requested", " ".join(set_words), "not allowed", channel)
        ack(response_type="ephemeral", **error_message(
            f"Link jobs can be started only from <#{services.settings.report_channel}> "
            "by the catalogers allowed to. Ask your systems librarian if you need to."
        ).as_kwargs())
        return
    set_ref = " ".join(set_words)
    ack(response_type="ephemeral", text=f"Checking set {set_ref} in Alma…")

    def work() -> None:
        try:
            job = services.link_jobs.request(set_ref, user, channel, contribute=contribute)
        except Exception as exc:
            respond(response_type="ephemeral", **error_message(user_message(exc)).as_kwargs())
            return
        where = f"<#{services.settings.report_channel}>"
        if job.state == "queued":
            text = f"Set {job.set_name} is queued: {job.note or 'it starts when Alma allows'}. Follow it in {where}."
        elif job.state == "refused":
            text = f"Alma refused to run the link job on set {job.set_name}: {job.note}"
        else:
            text = f"The link job on set {job.set_name} has started. Follow it in {where}."
        respond(response_type="ephemeral", text=text)

    services.later(work)
