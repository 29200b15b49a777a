"""Issue 9 items 2 and 8 in the workflow: background work that Alma blocks (a key lacking a
permission, the daily quota spent) waits, says so once in the log and the report channel,
and goes on when Alma accepts again. The post-job re-check never reads a permission error
as a deleted set. In process: the real LinkJobs, the Alma simulator over HTTP and the
Slack stand-in behind the real SlackNotifier; the scheduler's rounds are called by hand.
"""

from __future__ import annotations

import logging
import time

import pytest
from slack_sdk import WebClient

from alma.errors import AlmaPermissionError, QuotaSpent
from alma.simulator import Simulator, seed
from bot.rendering import message_texts
from bot.notifier import SlackNotifier
from tests.slack.faults import SlackStub
from nzbot.linkjobs import LinkJobs
from nzbot.store import Store
from tests.conftest import API_KEY, client_for

REPORT = "CREPORT01"
TOKEN = "xoxb-test-token"


@pytest.fixture
def world(tmp_path):
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.3, seed=1) as sim:
        stub = SlackStub(bot_token=TOKEN, users={"UCATALOG1": {"name": "cataloger"}},
                         channels={REPORT: {"name": "nz-report"}}).start()
        alma = client_for(sim)
        store = Store(str(tmp_path / "nzbot.db"))
        notifier = SlackNotifier(WebClient(token=TOKEN, base_url=stub.api_url), REPORT, store)
        link_jobs = LinkJobs(store, alma, notifier)
        try:
            yield sim, stub, link_jobs
        finally:
            alma.close()
            stub.stop()


def notices(stub) -> list[str]:
    return ["\n".join(message_texts(m)) for m in stub.messages(REPORT)
            if "Background work is waiting" in m.get("text", "")]


def reported_job(link_jobs: LinkJobs):
    """A link job run to its report, without the re-check after it."""
    job = link_jobs.request(seed.SETS["link_test"], "UCATALOG1", REPORT)
    deadline = time.monotonic() + 15
    while link_jobs.store.link_job(job.id).state != "finished":
        assert time.monotonic() < deadline, "the link job did not finish"
        link_jobs.poll_running()
        time.sleep(0.1)
    link_jobs.report_finished()
    return link_jobs.store.link_job(job.id)


def test_the_recheck_waits_on_a_permission_error_and_says_so_once(world, caplog):
    sim, stub, link_jobs = world
    job = reported_job(link_jobs)
    assert job.state == "reported" and not job.reconciled
    sim.key_permissions["Configuration"] = None  # the re-check reads the set: refused
    caplog.set_level(logging.INFO)
    for _ in range(3):
        link_jobs.tick()
    assert not link_jobs.store.link_job(job.id).reconciled  # not taken for a deleted set
    (notice,) = notices(stub)
    assert "The API key is not allowed to read sets: give it Configuration read/write" in notice
    said = [r for r in caplog.records if "not allowed to read sets" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    sim.key_permissions["Configuration"] = "read/write"
    link_jobs.tick()
    assert link_jobs.store.link_job(job.id).reconciled
    assert [c.iz_mms_id for c in link_jobs.store.cases()] == [seed.CASES["multi"]]
    assert any("Alma accepts calls again" in r.getMessage() for r in caplog.records)
    assert len(notices(stub)) == 1


def test_a_link_request_without_the_permission_to_run_jobs_waits_in_the_queue(world):
    sim, stub, link_jobs = world
    sim.key_permissions["Configuration"] = "read"  # finds the set, cannot run the job
    job = link_jobs.request(seed.SETS["link_test"], "UCATALOG1", REPORT)
    assert job.state == "queued" and "not allowed to run jobs" in job.note
    link_jobs.tick()
    link_jobs.tick()
    assert link_jobs.store.link_job(job.id).state == "queued" and not sim.state.runs
    assert len(notices(stub)) == 1
    sim.key_permissions["Configuration"] = "read/write"
    link_jobs.tick()
    assert link_jobs.store.link_job(job.id).state == "running" and len(sim.state.runs) == 1


def test_a_spent_quota_stops_background_work_and_is_told_once(world):
    sim, stub, link_jobs = world
    job = reported_job(link_jobs)
    sim.state.quota_remaining = 0
    link_jobs.tick()
    calls = sim.total_calls
    link_jobs.tick()
    link_jobs.tick()
    assert sim.total_calls == calls  # paused: nothing sent
    assert not link_jobs.store.link_job(job.id).reconciled
    (notice,) = notices(stub)
    assert "daily API quota is used up" in notice
    with pytest.raises(QuotaSpent, match="until its daily reset"):  # a person's request asks Alma
        link_jobs.alma.find_set(seed.SETS["link_test"])
    sim.state.quota_remaining = 10_000  # Alma's day turned
    assert link_jobs.alma.find_set(seed.SETS["link_test"]).id == seed.SETS["link_test"]
    link_jobs.tick()
    assert link_jobs.store.link_job(job.id).reconciled


def test_a_permission_error_is_a_permission_error_not_a_missing_set(world):
    sim, _, link_jobs = world
    sim.key_permissions["Configuration"] = None
    with pytest.raises(AlmaPermissionError) as caught:
        link_jobs.alma.find_set(seed.SETS["link_test"])
    assert "There is no set" not in str(caught.value)


@pytest.mark.parametrize("answer", ["value", "none"])
def test_a_run_whose_answer_names_no_instance_is_found_never_refused(world, answer):
    sim, _, link_jobs = world
    sim.job_seconds = 3.0
    sim.faults.run_answer = answer
    job = link_jobs.request(seed.SETS["link_test"], "UCATALOG1", REPORT)
    (run,) = sim.state.runs.values()
    if answer == "value":  # "Job no. N triggered on ..." names it
        assert (job.state, job.instance_id) == ("running", run.id)
        return
    assert job.state == "starting"  # uncertain: neither refused nor started again
    link_jobs.tick()  # resume_starting finds the run among the job's instances
    job = link_jobs.store.link_job(job.id)
    assert (job.state, job.instance_id) == ("running", run.id)
    assert len(sim.state.runs) == 1
