"""/nz preview's call count, over HTTP with signed commands (issue 12 item 3): each preview
reports the Alma calls it made itself, even while another preview shares the bot's client."""

from __future__ import annotations

import re
import time

from alma.simulator import seed
from tests.bot.conftest import block_text, command_calls

USED = re.compile(r"Used ([\d,]+) Alma API calls?")


def calls_reported(harness, name: str) -> tuple[int, float]:
    """The call count a preview's answer gives, and when the answer came."""
    answer = harness.stub.wait_for(
        "response_url", lambda c: c.name == name and USED.search(block_text(c.args)), timeout=30)
    return int(USED.search(block_text(answer.args)).group(1).replace(",", "")), answer.at


def wide_set(harness) -> str:
    """250 members (3 member pages, 3 bib batches), 3 of them real records: a preview of it
    costs more calls than one of the 9-member link test set."""
    wide = harness.sim.state.make_set("Wide set", [])
    for n in range(247):  # members Alma no longer has: read, asked for, not found
        wide.members[f"99{n:012d}06391"] = ""
    for case in ("unique", "multi", "no_match"):
        wide.members[seed.CASES[case]] = ""
    wide.changed()
    return wide.id


def test_two_previews_at_once_each_report_their_own_exact_call_count(harness):
    wide = wide_set(harness)
    harness.start()
    solo = {}
    for set_id in (seed.SETS["link_test"], wide):  # alone first: what each costs Alma
        before = command_calls(harness.sim)
        solo[set_id], _ = calls_reported(harness, harness.command(f"preview {set_id}")[1])
        assert solo[set_id] == command_calls(harness.sim) - before  # exactly what Alma saw
    assert solo[wide] > solo[seed.SETS["link_test"]]

    harness.sim.faults.latency = 0.3  # each call takes a while, so the two overlap
    before = command_calls(harness.sim)
    names = {set_id: harness.command(f"preview {set_id}")[1] for set_id in solo}
    both_sent = time.monotonic()
    reported = {set_id: calls_reported(harness, name) for set_id, name in names.items()}
    assert min(at for _, at in reported.values()) > both_sent  # they ran at the same time
    assert {set_id: count for set_id, (count, _) in reported.items()} == solo
    assert sum(solo.values()) == command_calls(harness.sim) - before
