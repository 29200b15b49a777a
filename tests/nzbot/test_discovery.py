"""Watching Alma for link-job runs started in its UI: `since` moves forward to the newest
run seen (less a margin), so a round costs the same after 1 run or 1,800."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from slack_sdk import WebClient

from alma.simulator import Simulator, seed
from alma.simulator.jobs import submit
from alma.simulator.state import JobRun
from bot.notifier import SlackNotifier
from tests.slack.faults import SlackStub
from nzbot.linkjobs import ALMA_UI, DISCOVERY_MARGIN, LinkJobs
from nzbot.store import Store
from tests.conftest import API_KEY, client_for

REPORT = "CREPORT01"


def instance_pages(sim) -> int:
    return sum(n for key, n in sim.calls.items() if key.endswith("/instances"))


def test_discovery_since_moves_forward_and_each_round_costs_one_call(tmp_path):
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.2) as sim:
        stub = SlackStub(bot_token="xoxb-t", channels={REPORT: {"name": "nz-report"}}).start()
        alma = client_for(sim)
        try:
            store = Store(str(tmp_path / "nzbot.db"))
            link_jobs = LinkJobs(store, alma, SlackNotifier(WebClient(token="xoxb-t", base_url=stub.api_url), REPORT, store))
            job_id = alma.find_link_job().id
            first_run = datetime.now(timezone.utc) - timedelta(days=4)
            # 150 runs made in Alma's UI, one every half hour for three days from four days ago, all finished
            with sim.state.lock:
                for n in range(150):
                    when = first_run + timedelta(minutes=30 * n)
                    run = JobRun(id=sim.state.new_run_id(), job_id=job_id, name=f"UI run {n}",
                                 params={"set_id": seed.SETS["link_test"]}, by_api=False,
                                 submitted_by=("jdoe", "J. Doe"), submit_time=when, submitted_at=0.0,
                                 status="COMPLETED_SUCCESS", progress=100, start_time=when, end_time=when)
                    sim.state.runs[run.id] = run
            newest = first_run + timedelta(minutes=30 * 149)

            sim.reset_calls()
            since = link_jobs.discover_ui_runs(first_run - timedelta(days=1))
            assert instance_pages(sim) == 2  # 150 runs: two pages of 100
            assert len(store.link_jobs()) == 150
            assert abs(since - (newest - DISCOVERY_MARGIN)) < timedelta(seconds=2)

            # later rounds: one call each (Alma filters by day: a day's runs fit a page),
            # nothing found twice
            for _ in range(3):
                sim.reset_calls()
                assert link_jobs.discover_ui_runs(since) >= since
                assert instance_pages(sim) == 1
            assert len(store.link_jobs()) == 150

            fresh = submit(sim.state, job_id, {"set_id": seed.SETS["link_test"]}, by_api=False)
            sim.reset_calls()
            since = link_jobs.discover_ui_runs(since)
            assert instance_pages(sim) == 1
            found = store.link_job_for_instance(job_id, fresh.id)
            assert found is not None and found.requested_by == ALMA_UI
            assert since >= fresh.submit_time - DISCOVERY_MARGIN - timedelta(seconds=2)
        finally:
            alma.close()
            stub.stop()
