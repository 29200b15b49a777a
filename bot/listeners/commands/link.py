"""/nz link SET [contribute]: run the link job on a set, with the guidance's parameters.
With no set, the modal opens: choose a set or paste MMS IDs (its submission:
bot/listeners/views/link_sets.py)."""

from __future__ import annotations

import logging
from typing import Callable

from bot.errors import user_message
from bot.messages import error_message, link_modal_view, link_requested_message, working_message
from bot.rendering import Message
from bot.services import Services
from nzbot.access import Actor, Scope
from nzbot.sets import sets_in_alma, sets_of_link_jobs

log = logging.getLogger(__name__)

ALMA_SETS_OFFERED = 50  # one page of the member's Alma sets: one call, whatever the IZ holds
LOADING_ALMA_SETS = "Reading your sets in Alma…"


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    """The policy has checked that `actor` may start link jobs in this channel."""
    contribute = bool(args) and args[-1].lower() == "contribute"
    set_words = args[:-1] if contribute else args
    if not set_words:
        open_modal(services, ack, command, actor, contribute=contribute)
        return
    set_ref = " ".join(set_words)
    ack(response_type="ephemeral", **working_message("Checking set", set_ref).as_kwargs())

    def answer(message: Message) -> None:
        respond(response_type="ephemeral", **message.as_kwargs())

    services.later(lambda: request_link_job(services, actor, set_ref, contribute, answer))


def request_link_job(services: Services, actor: Actor, set_ref: str, contribute: bool,
                     answer: Callable[[Message], None]) -> None:
    """The link job on a set, as `/nz link SET` asks for it (the modal's sets and "Link these
    N records" too): queued or started, or why not, answered to the requester."""
    try:
        job = services.link_jobs.request(set_ref, actor.user, actor.channel, contribute=contribute)
    except Exception as exc:
        answer(error_message(user_message(exc)))
        return
    answer(link_requested_message(job, actor.member.report_channel))


def open_modal(services: Services, ack, command: dict, actor: Actor, *, contribute: bool = False) -> None:
    """Opens the modal at once (a trigger_id lasts 3 seconds) with the sets of this member's
    link jobs (no Alma call); the member's Alma sets follow in a views.update, one call."""
    ack()  # the modal is the answer
    job_sets = sets_of_link_jobs(services.store, Scope.member(actor.member.code))
    view = link_modal_view(actor.channel, job_sets, [], alma_note=LOADING_ALMA_SETS, contribute=contribute)
    opened = services.slack.views_open(trigger_id=command.get("trigger_id"), view=view)["view"]

    def add_alma_sets() -> None:
        try:
            alma_sets, note = sets_in_alma(services.alma, ALMA_SETS_OFFERED), ""
        except Exception as exc:
            alma_sets, note = [], f"Your sets in Alma could not be read: {user_message(exc)}"
        try:  # the hash: a cataloger who submitted meanwhile is not shown the form again
            services.slack.views_update(view_id=opened["id"], hash=opened.get("hash"), view=link_modal_view(
                actor.channel, job_sets, alma_sets, alma_note=note, contribute=contribute))
        except Exception as exc:
            log.info("the link modal was not updated with the Alma sets (submitted or closed?): %s", exc)

    services.later(add_alma_sets)
