"""/nz cases: open multi-match cases with links to their messages; /nz cases csv: the
decisions and the NZ duplicates they revealed."""

from __future__ import annotations

from bot.case_messages import cases_csv_message, cases_message
from bot.messages import usage_message
from bot.services import Services
from nzbot.cases import decisions_csv
from nzbot.states import UNSETTLED


def handle(services: Services, ack, args: list[str], command: dict, respond) -> None:
    if [a.lower() for a in args] == ["csv"]:
        ack(response_type="ephemeral", **cases_csv_message(decisions_csv(services.store)).as_kwargs())
        return
    if args:
        ack(response_type="ephemeral", **usage_message("/nz cases takes nothing, or csv.").as_kwargs())
        return
    ack(response_type="ephemeral", text="Looking for open cases…")

    def work() -> None:
        cases = services.store.cases(*UNSETTLED)[::-1]  # newest first, as listed
        links = {}
        for case in cases[:40]:
            for channel, ts in services.store.case_messages(case.id)[:1]:
                try:
                    links[case.id] = services.slack.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
                except Exception:  # a missing link is no reason to hide the list
                    pass
        respond(response_type="ephemeral", **cases_message(cases, links).as_kwargs())

    services.later(work)
