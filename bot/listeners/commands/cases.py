"""/nz cases: open multi-match cases with links to their messages; /nz cases csv: the
decisions and the NZ duplicates they revealed. Both acked at once, whatever the number
of cases, and answered after the ack."""

from __future__ import annotations

import io

from bot.case_messages import MAX_CASES_LISTED, cases_csv_message, cases_message
from bot.messages import usage_message
from bot.services import Services
from nzbot.cases import write_decisions_csv
from nzbot.states import UNSETTLED

CSV_CASES_SHOWN = 30  # a Slack section holds 3,000 characters: the first cases only


def handle(services: Services, ack, args: list[str], command: dict, respond) -> None:
    if [a.lower() for a in args] == ["csv"]:
        ack(response_type="ephemeral", text="Building the CSV of decisions…")

        def csv_work() -> None:
            out = io.StringIO()
            write_decisions_csv(services.store, out, limit=CSV_CASES_SHOWN)
            total = sum(services.store.case_counts().values())
            respond(response_type="ephemeral", **cases_csv_message(out.getvalue(), rows=total).as_kwargs())

        services.later(csv_work)
        return
    if args:
        ack(response_type="ephemeral", **usage_message("/nz cases takes nothing, or csv.").as_kwargs())
        return
    ack(response_type="ephemeral", text="Looking for open cases…")

    def work() -> None:
        # the newest only, with the permalinks kept when their messages were posted
        cases, total = services.store.newest_unsettled(UNSETTLED, MAX_CASES_LISTED)
        links = services.store.permalinks([c.id for c in cases])
        respond(response_type="ephemeral", **cases_message(cases, links, total).as_kwargs())

    services.later(work)
