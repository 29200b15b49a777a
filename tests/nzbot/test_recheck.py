"""The re-check after a link job: one pass over the set, resumed where it stopped after
an Alma outage (never from the start), and one message in the job's thread giving the
number of cases the database holds. Real parts: the Alma simulator over HTTP, the local
Slack stand-in behind the bot's own notifier."""

from __future__ import annotations

import threading
import time

import pytest
from slack_sdk import WebClient

from alma.errors import AlmaError
from alma.simulator import Simulator, seed
from bot.notifier import SlackNotifier
from tests.slack.faults import SlackStub
from nzbot.linkjobs import LinkJobs
from nzbot.store import Store
from tests.conftest import API_KEY, client_for

REPORT = "CREPORT01"
RECORDS = 3000
MULTI = RECORDS * 8 // 100  # generate_state's default mix


@pytest.fixture
def world(tmp_path):
    with Simulator(state=seed.generate_state(RECORDS, seed=3), api_key=API_KEY) as sim:
        stub = SlackStub(bot_token="xoxb-t", channels={REPORT: {"name": "nz-report"}}).start()
        # a quick Alma, so the test spends no time at Alma's real pace
        sim.faults.per_second_limit = 10_000
        alma = client_for(sim, max_retries=1, requests_per_second=2000.0)
        store = Store(str(tmp_path / "nzbot.db"))
        link_jobs = LinkJobs(store, alma, SlackNotifier(WebClient(token="xoxb-t", base_url=stub.api_url), REPORT, store))
        set_id = next(s.id for s in sim.state.sets.values() if s.name == seed.GENERATED_SET_NAME)
        start = WebClient(token="xoxb-t", base_url=stub.api_url).chat_postMessage(channel=REPORT, text="started")
        job = store.add_link_job(set_id=set_id, set_name=seed.GENERATED_SET_NAME, set_size=RECORDS,
                                 requested_by="UCATALOG1", channel=REPORT, state="reported",
                                 message_ts=start["ts"])
        try:
            yield sim, stub, store, link_jobs, job
        finally:
            alma.close()
            stub.stop()


def member_pages(sim) -> int:
    return sum(n for key, n in sim.calls.items() if "/members" in key)


def thread_notes(stub, job) -> list[dict]:
    return [m for m in stub.messages(REPORT) if m.get("thread_ts") == job.message_ts]


def test_a_pass_stopped_by_an_alma_outage_resumes_where_it_stopped(world):
    sim, stub, store, link_jobs, job = world
    sim.faults.latency = 0.02  # time enough to cut Alma off in the middle of the pass
    failed = []

    def first_attempt() -> None:
        try:
            link_jobs.reconcile_reported()
        except AlmaError as exc:  # what the scheduler's round logs, then tries again
            failed.append(exc)

    attempt = threading.Thread(target=first_attempt)
    attempt.start()
    deadline = time.monotonic() + 30
    while store.recheck(job.id).position == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    sim.faults.error_rate = 1.0  # Alma goes down after the first chunk
    attempt.join(30)
    assert failed, "the pass stopped with Alma down"
    position = store.recheck(job.id).position
    assert 1000 <= position < RECORDS
    opened = len(store.case_ids_of_job(job.id))
    assert 0 < opened < MULTI
    assert not store.link_job(job.id).reconciled and thread_notes(stub, job) == []

    sim.faults.error_rate = 0.0
    sim.faults.latency = 0.0
    sim.reset_calls()
    link_jobs.reconcile_reported()
    # only the members from the recorded position on were read again
    assert member_pages(sim) == (RECORDS - position) // 100
    cases = store.cases()
    assert len(cases) == MULTI and len({c.iz_mms_id for c in cases}) == MULTI
    assert all(c.link_job == job.id and c.state == "open" for c in cases)
    assert store.recheck(job.id).done and store.link_job(job.id).reconciled
    (note,) = thread_notes(stub, job)
    assert f"{MULTI} records are multi-matches" in note["text"]
    assert sum(r["action"] == "case_opened" for r in store.audit_rows()) == MULTI


def test_one_clean_pass_costs_no_more_than_a_preview_and_posts_once(world):
    sim, stub, store, link_jobs, job = world
    sim.reset_calls()
    link_jobs.reconcile_reported()
    link_jobs.reconcile_reported()  # a later round: nothing more to do or say
    # a preview of 3,000 records: 30 member pages, 50 bib batches, and the SRU searches
    assert member_pages(sim) == RECORDS // 100
    assert sim.total_calls <= 40 * RECORDS // 1000 + 2, dict(sim.calls)
    assert len(store.case_ids_of_job(job.id)) == MULTI
    (note,) = thread_notes(stub, job)
    assert f"{MULTI} records are multi-matches" in note["text"]
