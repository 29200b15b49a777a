"""The benchmark scripts count what they report truly (their figures go in the README).
Small runs only: the figures themselves are the scripts' to print, never asserted here."""

from __future__ import annotations

import re

from bench import ack_latency


def test_ack_latency_drain_counts_every_delayed_answer_and_only_those(capsys):
    # one of each command of the mix: help and jobs answer in the ack, the 5 others later
    # (was: jobs expected at the response_url too, "108 of 129" when all had come)
    assert ack_latency.main(["--commands", "7", "--rounds", "1", "--alma-latency", "0", "--drain", "60"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("delayed answers"))
    came, expected = map(int, re.search(r": (\d+) of (\d+) commands", line).groups())
    assert (came, expected) == (5, 5), line
