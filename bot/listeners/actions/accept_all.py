"""The queue message's "Accept all N suggestions": every case of the job left to decide
that has a suggested pick is linked to it, as a pick would be; the cases without one stay
in the queue. Only the Program Manager (bot.access checked before this runs)."""

from __future__ import annotations

from bot.case_messages import accepted_all_line, accepted_all_message, queue_message
from bot.listeners.answering import pressed_once
from bot.services import Services
from nzbot.access import EVERY_MEMBER


def handle(services: Services, ack, body: dict, respond) -> None:
    pressed = pressed_once(services.store, ack, body, respond)
    if pressed is None:  # pressed twice, or a forged value
        return
    user, link_job = body.get("user", {}).get("id", ""), pressed.link_job
    container = body.get("container") or {}
    place = (container.get("channel_id"), container.get("message_ts"))
    services.later(lambda: accept_all(services, link_job, user, respond, place))  # many cases: after the ack


def accept_all(services: Services, link_job: int | None, user: str, respond, place: tuple) -> None:
    """Each member's cases of the job (a job is one member's; the lookups' queue, anyone's)."""
    accepted, by_rule = 0, {}
    for member in services.members.values():
        done = member.cases.accept_all(link_job, user, scope=EVERY_MEMBER)
        accepted += len(done.cases)
        for rule, n in done.by_rule.items():
            by_rule[rule] = by_rule.get(rule, 0) + n
        if done.cases:
            services.for_member(member).later(member.cases.advance)  # start on them now
    whole = services.store.whole()
    line = accepted_all_line(accepted, by_rule, user)
    if whole.shows_a_case(*place):  # a case under review: it moves on as its case is decided
        respond(response_type="ephemeral", replace_original=False, **accepted_all_message(line).as_kwargs())
        return
    job = whole.link_job(link_job) if link_job is not None else None
    label = services.settings.label_of(job.institution) if job else ""
    respond(replace_original=True, **queue_message(
        job, whole.case_counts(link_job, scope=EVERY_MEMBER), label, accepted=line,
        suggested=whole.suggestion_counts(link_job, scope=EVERY_MEMBER)).as_kwargs())
