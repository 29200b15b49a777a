"""/nz preview SET: what the link job would do to each member of a set."""

from __future__ import annotations

from bot.errors import user_message
from bot.messages import error_message, preview_message, usage_message, working_message
from bot.rendering import Message
from bot.services import Services
from nzbot.access import Actor
from nzbot.lookups import open_preview

# Slack takes at most 5 answers on one response_url: a large set gets a progress line at
# each quarter (3 answers), and the result is the 4th.
PROGRESS_FROM = 5000  # records; smaller sets answer quickly enough
PROGRESS_STEPS = (0.25, 0.5, 0.75)


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    if not args:
        ack(response_type="ephemeral", **usage_message("/nz preview needs a set id or a set name.").as_kwargs())
        return
    set_ref = " ".join(args)
    ack(response_type="ephemeral", **working_message("Previewing set", set_ref).as_kwargs())

    def work() -> None:
        respond(response_type="ephemeral", **preview_answer(
            services, set_ref, lambda name: progress_reporter(name, respond)).as_kwargs())

    services.later(work)


def preview_answer(services: Services, set_ref: str, progress=None,
                   link_contribute: bool | None = None) -> Message:
    """The preview of a set (or why there is none): `/nz preview`'s, and the modal's, whose
    sets get "Link these N records" (`link_contribute`, see preview_message). `progress`
    makes the reporter for a set's name."""
    try:
        preview = open_preview(services.alma, set_ref)
        counts = preview.count(progress(preview.set.name) if progress else None)
    except Exception as exc:
        return error_message(user_message(exc))
    return preview_message(preview.set, counts.counts, counts.examples, preview.calls.total,
                           at_risk=counts.local_at_risk, at_risk_examples=counts.local_at_risk_examples,
                           from_oclc_merge=counts.from_oclc_merge, link_contribute=link_contribute)


def progress_reporter(set_name: str, respond):
    """Tells the cataloger how far a long preview has got, at each quarter."""
    steps = list(PROGRESS_STEPS)

    def progress(done: int, total: int) -> None:
        if total < PROGRESS_FROM or not steps or done < total * steps[0] or done >= total:
            return
        while steps and done >= total * steps[0]:
            steps.pop(0)
        subject = f"{set_name}: {done:,} of {total:,} records checked"
        respond(response_type="ephemeral", replace_original=True,
                **working_message("Previewing set", subject).as_kwargs())

    return progress
