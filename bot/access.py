"""The access policy at Slack's door: what each command, button and event needs, the
actor resolved once per request, and the one wrapper every listener goes through.

    @app.action(action_ids.pattern(action_ids.CASE_PAGE))
    @answering(services.store)
    @guarded(services, action_ids.CASE_PAGE)
    def case_page_clicked(ack, body, respond, actor): ...

`RULES` names every surface nzbot answers; registering a listener for a surface it does
not name fails at start-up, and the tests check every registered listener went through
`guarded` (tests/bot/test_access_matrix.py). Who may do what is nzbot/access.py's.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

from alma.errors import BadInput
from bot import action_ids
from bot.case_messages import not_pm_message
from bot.messages import error_message, modal_notice_view, not_allowed_message, not_linked_message
from bot.rendering import Message
from bot.services import Services
from nzbot.access import Actor, Need, Refusal

log = logging.getLogger(__name__)

HOME_OPENED = "app_home_opened"
DIRECT_MESSAGE = "message.im"  # a message typed to the bot in its Messages tab
NZ = "/nz"


class Subject(StrEnum):
    """What a button acts on, read from its value: its member is checked against the actor."""

    CASE = "case"


@dataclass(frozen=True)
class Rule:
    need: Need
    subject: Subject | None = None


def subcommand(name: str) -> str:
    """The surface key of `/nz NAME`."""
    return f"{NZ} {name}"


RULES: dict[str, Rule] = {
    # /nz and its subcommands (help, and anything unknown, only answers in words)
    NZ: Rule(Need.ANYONE),
    subcommand("help"): Rule(Need.ANYONE),
    subcommand("match"): Rule(Need.MEMBER),
    subcommand("preview"): Rule(Need.MEMBER),
    subcommand("jobs"): Rule(Need.MEMBER),
    subcommand("link"): Rule(Need.JOB_STARTER),  # with a set, or with none: opens the modal
    subcommand("cases"): Rule(Need.CASE_LIST),
    subcommand("history"): Rule(Need.MEMBER),  # the channel's member's records
    # whoever may start link jobs may schedule them; a schedule of another member is refused
    subcommand("schedule"): Rule(Need.JOB_STARTER),
    subcommand("schedules"): Rule(Need.MEMBER),  # the channel's member's
    subcommand("unschedule"): Rule(Need.JOB_STARTER),
    # figures: in a member's channel its own (as Need.MEMBER), where the PM asks every member's
    subcommand("stats"): Rule(Need.CASE_LIST),
    # buttons
    action_ids.SEND_TO_PM: Rule(Need.MEMBER),
    action_ids.LINK_CANDIDATE: Rule(Need.PROGRAM_MANAGER, Subject.CASE),
    action_ids.MERGE_INTO: Rule(Need.PROGRAM_MANAGER, Subject.CASE),
    action_ids.CONTRIBUTE_NEW: Rule(Need.PROGRAM_MANAGER, Subject.CASE),
    action_ids.SKIP_CASE: Rule(Need.PROGRAM_MANAGER, Subject.CASE),
    action_ids.RECHECK_CASE: Rule(Need.PROGRAM_MANAGER, Subject.CASE),
    action_ids.CASE_PAGE: Rule(Need.CASE_VIEWER, Subject.CASE),
    action_ids.REVIEW_CASES: Rule(Need.PROGRAM_MANAGER),
    action_ids.ACCEPT_SUGGESTION: Rule(Need.PROGRAM_MANAGER, Subject.CASE),
    action_ids.ACCEPT_ALL: Rule(Need.PROGRAM_MANAGER),  # a job's cases: the PM sees every member's
    action_ids.CASES_PAGE: Rule(Need.CASE_LIST),
    action_ids.MATCH_LINK: Rule(Need.JOB_STARTER),  # a cataloger's own link (Method 2)
    action_ids.LINK_SET: Rule(Need.JOB_STARTER),  # "Link these N records" under a set from the modal
    # modals and shortcuts
    action_ids.LINK_MODAL: Rule(Need.JOB_STARTER),  # the modal's submission, in the channel it names
    action_ids.CHECK_NZ_MATCHES: Rule(Need.MEMBER),  # as /nz match
    # events
    HOME_OPENED: Rule(Need.PROGRAM_MANAGER),
    DIRECT_MESSAGE: Rule(Need.ANYONE),  # answered with the help: words only, as /nz help
}


def resolve_actor(services: Services):
    """Bolt middleware: the request's actor, once, in the context (listeners take `actor`)."""

    def middleware(context, body, next):
        container = body.get("container") if isinstance(body, dict) else None
        # a modal has no channel: its own private_metadata names the one it was opened from
        channel = context.channel_id or (container.get("channel_id") if isinstance(container, dict) else None) \
            or action_ids.modal_channel(body)
        user = context.user_id
        context["actor"] = services.policy.actor(user if isinstance(user, str) else "",
                                                 channel if isinstance(channel, str) else "")
        next()

    return middleware


def refusal_for(services: Services, surface: str, actor: Actor, body: dict | None = None) -> Refusal | None:
    """Whether `actor` may use `surface` (on the object its button names): the policy's answer."""
    rule = RULES[surface]
    return services.policy.refusal(actor, rule.need, _owner(services, rule.subject, body or {}))


def _owner(services: Services, subject: Subject | None, body: dict) -> str | None:
    """The member of the object a button names; None when it names none, or one that does
    not exist (the listener then says so in its own words)."""
    if subject is None:
        return None
    action = action_ids.pressed(body)
    try:
        case_id = action_ids.read(str(action.get("action_id") or ""), action.get("value")).case_id
    except BadInput:
        return None
    return services.store.case_owner(case_id) if case_id is not None else None


def refusal_message(services: Services, refusal: Refusal, actor: Actor) -> Message:
    """A refusal in words: why, and that nothing was changed or shown."""
    if refusal is Refusal.NO_MEMBER:
        return not_linked_message(services.settings.institutions)
    if refusal is Refusal.NOT_ALLOWED:
        return not_allowed_message(actor.member.report_channel if actor.member else "")
    if refusal is Refusal.NOT_PM:
        return not_pm_message(services.settings.pm_users)
    member = actor.member.label if actor.member and actor.member.label else "your institution"
    return error_message(f"That belongs to another member institution, not to {member}: only its own "
                         "catalogers and the Program Manager see it. Nothing was shown or changed.")


def audit_refusal(services: Services, surface: str, actor: Actor, refusal: Refusal, subject: str = "") -> None:
    """The refusal in the audit log, under the actor's member (or none)."""
    store = services.for_actor(actor).store  # the member's view, else the whole store
    try:
        store.audit(actor.user, surface, subject, f"refused: {refusal}", actor.channel)
    except Exception:  # the refusal stands: the database's trouble is logged
        log.exception("could not record a refusal in the audit log")


def guarded(services: Services, surface: str, refused: Callable[[Actor], None] | None = None):
    """Wraps a listener of `surface`: the actor is checked against the surface's rule
    before the listener runs; a refusal is answered (ephemeral, nothing changed) and
    audited, and the listener never runs. An event has nowhere to answer: `refused` shows
    what the actor may see instead. A surface with no rule fails here, at start-up."""
    if surface not in RULES:
        raise KeyError(f"{surface!r} has no entry in bot.access.RULES: say who may use it")

    def wrap(listener):
        @functools.wraps(listener)
        def run(**kwargs):
            actor: Actor = kwargs["actor"]
            body = kwargs.get("body") or {}
            refusal = refusal_for(services, surface, actor, body)
            if refusal is None:
                return listener(**kwargs)
            if refused is not None:
                refused(actor)
            else:
                refuse(services, surface, actor, refusal, kwargs)
            return None

        run.nzbot_surface = surface  # what the tests look for on every registered listener
        return run

    return wrap


def refuse(services: Services, surface: str, actor: Actor, refusal: Refusal, kwargs: dict) -> None:
    """Answers a refusal where the request came from: a command's ack, a button's
    ephemeral reply, nothing for an event (bot/listeners/home.py shows its own view)."""
    message = refusal_message(services, refusal, actor)
    ack, respond = kwargs.get("ack"), kwargs.get("respond")
    body = kwargs.get("body") or {}
    if "command" in kwargs and ack is not None:
        ack(response_type="ephemeral", **message.as_kwargs())
    elif body.get("type") == "view_submission" and ack is not None:  # said in the modal itself
        ack(response_action="update", view=modal_notice_view("Not linked", message))
    elif ack is not None:
        ack()
        if respond is not None and body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
    subject = str(action_ids.pressed(body).get("value") or "")[:100]
    audit_refusal(services, surface, actor, refusal, subject)
