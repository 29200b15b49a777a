"""The lookups as pieces of work, in process against the simulator: what they find, and the
Alma calls each counts on itself alone, whatever else shares the client."""

from __future__ import annotations

import threading
import time

import pytest

from alma.calls import CallTally
from alma.errors import BadInput
from alma.matching import Verdict
from alma.simulator import Simulator, seed
from nzbot.lookups import match_identifier, open_preview
from tests.conftest import API_KEY, client_for


def preview_calls(client, set_ref: str) -> tuple[int, int]:
    """(calls counted, records previewed) for one whole preview."""
    preview = open_preview(client, set_ref)
    previewed = sum(1 for _ in preview.records())
    return preview.calls.total, previewed


def test_a_record_lookup_counts_exactly_the_calls_alma_received(sim, client):
    found = match_identifier(client, seed.CASES["unique"])
    assert found.match.verdict is Verdict.UNIQUE
    assert found.calls.by_endpoint == {"GET /bibs/{id}": 1, "GET SRU": 1}
    assert found.calls.total == sim.total_calls
    by_oclc = match_identifier(client, "61111111")
    assert by_oclc.calls.by_endpoint == {"GET SRU": 1}


def test_a_refused_identifier_costs_no_call(sim, client):
    with pytest.raises(BadInput):
        match_identifier(client, "banana")
    assert sim.total_calls == 0


def test_a_preview_counts_its_calls_and_not_others_made_between_its_steps(sim, client):
    preview = open_preview(client, seed.SETS["link_test"])
    opened = preview.calls.total
    client.get_bib(seed.CASES["multi"])  # someone else's call, between two steps of the work
    records = list(preview.records())
    client.get_bib(seed.CASES["unique"])
    assert opened == 1 and len(records) == 9 and sum(preview.counts.counts.values()) == 9
    assert preview.calls.total == sim.total_calls - 2
    assert preview.calls.by_endpoint["GET /bibs"] == 1  # the set's one batch, not the get_bib calls


def test_previews_running_at_once_on_one_client_each_count_their_own_calls():
    with Simulator(state=seed.generate_state(600, seed=5), api_key=API_KEY) as sim:
        big = next(s for s in sim.state.sets.values() if s.name == seed.GENERATED_SET_NAME)
        small = sim.state.make_set("Thirty generated records", list(big.members)[:30]).id
        client = client_for(sim)
        solo = {}
        for ref in (big.id, small):  # alone first: what each costs Alma
            sim.reset_calls()
            solo[ref] = preview_calls(client, ref)
            assert solo[ref][0] == sim.total_calls
        assert solo[big.id] == (solo[big.id][0], 600) and solo[small][1] == 30
        assert solo[big.id][0] > solo[small][0]

        sim.reset_calls()
        sim.faults.latency = 0.05
        together, spans = {}, {}

        def run(ref: str) -> None:
            started = time.monotonic()
            together[ref] = preview_calls(client, ref)
            spans[ref] = (started, time.monotonic())

        threads = [threading.Thread(target=run, args=(ref,)) for ref in solo]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert max(s for s, _ in spans.values()) < min(e for _, e in spans.values())  # overlapped
        assert together == solo
        assert sum(calls for calls, _ in solo.values()) == sim.total_calls
        client.close()


def test_a_tally_around_a_lookup_counts_its_calls_too_and_nothing_after(sim, client):
    outer = CallTally()
    with outer.counting():
        inner = match_identifier(client, seed.CASES["multi"])
        client.get_bib(seed.CASES["unique"])
    client.get_bib(seed.CASES["unique"])  # outside any piece of work: counted nowhere
    assert inner.calls.total == 2
    assert outer.by_endpoint == {"GET /bibs/{id}": 2, "GET SRU": 1}
    assert sim.total_calls == 4
