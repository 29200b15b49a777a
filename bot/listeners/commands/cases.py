"""/nz cases [N]: a page of open multi-match cases with links to their messages (Previous
and Next turn it in place: bot/listeners/actions/cases_page.py); /nz cases csv: the
decisions and the NZ duplicates they revealed. All acked at once, whatever the number
of cases, and answered after the ack."""

from __future__ import annotations

import io
import re

from alma.errors import BadInput
from bot import action_ids
from bot.case_messages import MAX_CASES_LISTED, cases_csv_message, cases_message, cases_pages
from bot.messages import usage_message
from bot.rendering import Message
from bot.services import Services
from nzbot.access import Actor, Scope
from nzbot.cases import write_decisions_csv
from nzbot.states import UNSETTLED

CSV_CASES_SHOWN = 30  # a Slack section holds 3,000 characters: the first cases only
_ASCII_DIGITS = re.compile(r"[0-9]+")  # `/nz cases 2`: anything else is not a page number


def handle(services: Services, ack, args: list[str], command: dict, respond, actor: Actor) -> None:
    scope = actor.list_scope  # the policy allowed it: every member's to the PM, else the channel's member's
    if [a.lower() for a in args] == ["csv"]:
        ack(response_type="ephemeral", text="Building the CSV of decisions…")

        def csv_work() -> None:
            out = io.StringIO()
            write_decisions_csv(services.store, out, limit=CSV_CASES_SHOWN, scope=scope)
            total = sum(services.store.case_counts(scope=scope).values())
            respond(response_type="ephemeral", **cases_csv_message(out.getvalue(), rows=total).as_kwargs())

        services.later(csv_work)
        return
    page = 1
    if len(args) == 1 and _ASCII_DIGITS.fullmatch(args[0]):
        try:
            page = action_ids.read(action_ids.CASES_PAGE, args[0]).page or 1
        except BadInput as exc:
            ack(response_type="ephemeral", **usage_message(str(exc)).as_kwargs())
            return
    elif args:
        ack(response_type="ephemeral", **usage_message(
            "/nz cases takes nothing, or csv, or the number of a page (such as 2).").as_kwargs())
        return
    ack(response_type="ephemeral", text="Looking for open cases…")
    services.later(lambda: respond(response_type="ephemeral", **open_cases_page(
        services, page, scope=scope).as_kwargs()))


def open_cases_page(services: Services, page: int, *, scope: Scope, past_the_end: str = "say") -> Message:
    """Page `page` (1-based) of `scope`'s open cases, with the permalinks kept when their
    messages were posted. A page past the last: said plainly ("say"), or the last page
    ("last": a button pressed after cases were settled)."""
    cases, total = services.store.newest_unsettled(UNSETTLED, MAX_CASES_LISTED, (page - 1) * MAX_CASES_LISTED,
                                                   scope=scope)
    pages = cases_pages(total)
    if page > pages and total:
        if past_the_end == "say":
            many = "is one page" if pages == 1 else f"are {pages:,} pages"
            return usage_message(f"There {many} of open cases: `/nz cases {pages}` shows the oldest.")
        page = pages
        cases, total = services.store.newest_unsettled(UNSETTLED, MAX_CASES_LISTED, (page - 1) * MAX_CASES_LISTED,
                                                       scope=scope)
    links = services.store.permalinks([c.id for c in cases])
    return cases_message(cases, links, total, page=page)
