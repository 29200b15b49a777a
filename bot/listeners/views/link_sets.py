"""The modal of `/nz link` with no set, submitted: a chosen set, or pasted MMS IDs made into
a set, previewed with "Link these N records" or linked at once.

Bad input is answered in the modal's own field errors (keyed by block id) and nothing is
made. The form is checked with no Alma call; pasted ids are then checked against the IZ
with the batched read (at most 5 calls for the 3,000 characters a paste holds). Slack wants
the ack within 3 seconds, and Alma's pace is not ours: the check has CHECK_SECONDS to
answer in the ack itself (field errors, as usual); past that, the modal says "Checking…"
and the check finishes in the background, showing the form again with the problem, or
going on. Either way nothing is made before the ids are known to be the member's records.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date
from typing import Callable

from bot.errors import user_message
from bot.listeners.answering import tell
from bot.listeners.commands.link import request_link_job
from bot.listeners.commands.preview import preview_answer
from bot.messages import error_message, link_modal_view, modal_notice_view, pasted_set_message, working_message
from bot.services import Services
from nzbot.access import Actor, Scope
from nzbot.sets import MAX_NOT_MMS_SHOWN, Paste, make_pasted_set, not_in_iz, read_paste, sets_of_link_jobs

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # of Slack's 3: the rest for the ack's way back
SET, IDS = "set", "ids"  # the block ids field errors are keyed by (templates/link_modal.json.j2)


@dataclass(frozen=True)
class LinkForm:
    """What the cataloger submitted: a set chosen (its id), text pasted (None: nothing), and
    the two choices."""

    set_id: str | None
    pasted: str | None
    contribute: bool
    preview: bool


def read_form(view: dict) -> LinkForm:
    values = (view.get("state") or {}).get("values") or {}

    def element(block: str) -> dict:
        return (values.get(block) or {}).get(block) or {}

    def ticked(block: str) -> bool:
        return any(o.get("value") == block for o in element(block).get("selected_options") or [])

    chosen = element(SET).get("selected_option") or {}
    pasted = element(IDS).get("value")
    return LinkForm(set_id=chosen.get("value") or None, pasted=pasted if pasted else None,
                    contribute=ticked("contribute"), preview=ticked("preview"))


def form_errors(form: LinkForm, paste: Paste | None) -> dict[str, str]:
    """The form's problems by block id, found with no Alma call; {} when there are none."""
    if form.set_id and form.pasted is not None:
        return {IDS: "Choose a set or paste MMS IDs, not both: clear the paste to link the chosen set."}
    if form.set_id:
        return {} if form.set_id.isascii() and form.set_id.isdigit() else {SET: "Choose one of the sets listed."}
    if paste is None:
        return {IDS: "Choose a set above, or paste the MMS IDs of the records to link, one a line."}
    if paste.not_mms_ids:
        shown = ", ".join(line[:30] for line in paste.not_mms_ids[:MAX_NOT_MMS_SHOWN])
        more = len(paste.not_mms_ids) - MAX_NOT_MMS_SHOWN
        return {IDS: f"Not MMS IDs: {shown}{f' and {more} more lines' if more > 0 else ''}. An MMS ID is "
                     "digits only, such as 9949620601852; paste one a line."}
    if not paste.ids:
        return {IDS: "The paste holds no MMS IDs: paste one a line, such as 9949620601852."}
    return {}


def not_iz_error(actor: Actor, missing: list[str]) -> dict[str, str]:
    whose = actor.member.label if actor.member and actor.member.label else "your institution"
    shown = ", ".join(missing[:MAX_NOT_MMS_SHOWN])
    more = len(missing) - MAX_NOT_MMS_SHOWN
    return {IDS: f"Not IZ records of {whose}: {shown}{f' and {more} more' if more > 0 else ''}. "
                 "Check them in Alma, or leave them out."}


def submitted(services: Services, ack, body: dict, actor: Actor) -> None:
    """The policy has checked that `actor` may start link jobs in the modal's channel."""
    services = services.for_actor(actor)
    view = body.get("view") or {}
    form = read_form(view)
    paste = read_paste(form.pasted) if form.pasted is not None else None
    errors = form_errors(form, paste)
    if errors:
        ack(response_action="errors", errors=errors)
        return

    def once(work):  # a submission delivered again (its ack lost) makes one set, one job
        return lambda: work() if services.store.first_time(f"view:{body.get('trigger_id')}") else None

    if form.set_id:  # a listed set: the link job's own checks read it, after the ack
        ack()
        services.later(once(lambda: go_on(services, actor, form.set_id, form)))
        return
    make = once(lambda: make_set_and_go_on(services, actor, form, paste))
    check = services.workers.submit(not_in_iz, services.alma, paste.ids)
    try:
        missing = check.result(timeout=CHECK_SECONDS)
    except FutureTimeout:
        ack(response_action="update", view=modal_notice_view(
            "Checking", working_message("Checking in Alma", f"{len(paste.ids)} MMS IDs"), actor.channel))
        check.add_done_callback(lambda done: checked_late(services, actor, view, form, done, make))
        return
    except Exception as exc:  # Alma down, the quota: said in the field; nothing was made
        ack(response_action="errors", errors={IDS: user_message(exc)})
        return
    if missing:
        ack(response_action="errors", errors=not_iz_error(actor, missing))
        return
    ack()
    services.later(make)


def checked_late(services: Services, actor: Actor, view: dict, form: LinkForm, done: Future,
                 make: Callable[[], None]) -> None:
    """The check that outlasted the ack: the form again with its problem, or on to the set."""
    try:
        missing, problem = done.result(), ""
        if missing:
            problem = not_iz_error(actor, missing)[IDS]
    except Exception as exc:
        problem = user_message(exc)
    if not problem:
        services.slack.views_update(view_id=view.get("id"), view=modal_notice_view(
            "Linking", working_message("Making a set of", "the records you pasted"), actor.channel))
        services.later(make)
        return
    job_sets = sets_of_link_jobs(services.store, Scope.member(actor.member.code))
    services.slack.views_update(view_id=view.get("id"), view=link_modal_view(
        actor.channel, job_sets, [], paste=form.pasted or "", contribute=form.contribute,
        preview=form.preview, problem=problem))


def make_set_and_go_on(services: Services, actor: Actor, form: LinkForm, paste: Paste) -> None:
    """The pasted records as an Alma set, said in the channel, then previewed or linked."""
    try:
        made = make_pasted_set(services.alma, actor.user, paste.ids, date.today())
    except Exception as exc:
        tell(services, actor, error_message(user_message(exc)))
        return
    services.store.audit(actor.user, "set_made", f"set {made.id}", "made",
                         f"{made.name}; {len(paste.ids)} pasted MMS IDs, {paste.repeats} repeats dropped")
    tell(services, actor, pasted_set_message(made, paste.repeats, preview=form.preview, contribute=form.contribute))
    go_on(services, actor, made.id, form)


def go_on(services: Services, actor: Actor, set_id: str, form: LinkForm) -> None:
    """Preview first (with "Link these N records"), or the link job at once."""
    if form.preview:
        tell(services, actor, preview_answer(services, set_id, link_contribute=form.contribute))
    else:
        request_link_job(services, actor, set_id, form.contribute, lambda message: tell(services, actor, message))
