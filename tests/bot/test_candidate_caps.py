"""A multi-match with 1,000 NZ candidates, over HTTP from the lookup to the verified link
(issue 11 item 3): every message that lists candidates stays within Slack's 50 blocks and
its text limits, and says "…and N more" for what it leaves out."""

from __future__ import annotations

import time

from alma.simulator import seed
from bot import action_ids as A
from bot.case_messages import CASE_COMPACT_PER_SECTION, CASE_COMPACT_SECTIONS, case_message
from bot.rendering import Message
from tests.bot.conftest import CATALOGER, PM, REPORT, block_text, click, review
from tests.bot.message_checks import check_slack_rules

CANDIDATES = 1_000


def sent_messages(harness) -> list[tuple[str, dict]]:
    calls = [c for c in harness.stub.calls()
             if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")]
    return [(c.method, c.args) for c in calls if c.args.get("blocks")]


def test_a_case_with_1000_candidates_stays_within_slacks_limits_in_every_message(harness):
    iz, nz_ids = seed.add_multi_match(harness.sim.state, "A much duplicated record", "36000001",
                                      ("",) * CANDIDATES)
    the_set = harness.sim.state.make_set("Much duplicated", [iz])
    harness.start()

    answer, name = harness.command(f"match {iz}")
    match = harness.response(name, timeout=60).args
    assert f"{CANDIDATES - 10:,} more candidates" in block_text(match)

    harness.command(f"link {the_set.id}")
    case = harness.wait(lambda: next(iter(harness.store.cases()), None), timeout=60, what="the case")
    assert len(case.candidates) == CANDIDATES
    review(harness, case, timeout=30)  # the job's queue message, then the case in it
    _, page = click(harness, f"{A.CASE_PAGE}:next", f"{case.id}:199")
    assert "Candidates 996\u20131000 of 1000" in block_text(harness.response(page).args)

    chosen = nz_ids[-1]
    click(harness, f"{A.LINK_CANDIDATE}:{CANDIDATES}", f"{case.id}:{chosen}")
    harness.wait(lambda: harness.store.case(case.id).state == "linking", timeout=20, what="the hand-off")
    harness.sim.state.link(iz, chosen)  # a cataloger links it in the Metadata Editor
    harness.wait(lambda: harness.store.case(case.id).state == "linked", timeout=20, what="the link verified")
    harness.wait(lambda: any("linked and verified" in block_text(m) for m in harness.stub.messages(REPORT)),
                 timeout=20, what="the outcome in the job's thread")
    # the queue message has moved on (the job's only case is decided): the settled case as
    # its message would read (was: the case's own message, read back from Slack)
    settled = case_message(harness.store.case(case.id)).as_kwargs()
    check_slack_rules(case_message(harness.store.case(case.id)))
    assert chosen in block_text(settled)
    listed = CASE_COMPACT_PER_SECTION * CASE_COMPACT_SECTIONS  # one line each; the chosen one in full
    assert f"\u2026and {CANDIDATES - 1 - listed:,} more candidates" in block_text(settled)
    harness.response(harness.command("cases")[1])
    csv_answer = harness.response(harness.command("cases csv")[1]).args  # answered after the ack
    assert str(chosen) in block_text(csv_answer)
    _, sent = click(harness, A.SEND_TO_PM, iz, user=CATALOGER, channel=REPORT)
    harness.response(sent)
    time.sleep(0.3)

    messages = sent_messages(harness) + [("ack", csv_answer)]
    kinds = {m for m, _ in messages}
    assert {"chat.postMessage", "chat.update", "response_url"} <= kinds
    assert len(messages) >= 8
    for method, args in messages:
        check_slack_rules(Message(text=args.get("text") or "", blocks=args["blocks"]))
    assert any(PM in str(args) or "Decided by" in block_text(args) for _, args in messages)
