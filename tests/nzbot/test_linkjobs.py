"""nzbot/linkjobs.py in-process: a request to its report, Alma's job limits, exactly one
report across a crash, a failing step that does not stop the round, multi-matches become
cases, and runs started in Alma's UI. The real workflow and simulator; no Slack."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from alma.errors import BadInput
from alma.simulator import seed
from nzbot.states import JobState
from tests.nzbot.conftest import CATALOGER, REPORT


def reported(workflow):
    return workflow.store.link_jobs("reported")


def test_a_request_runs_the_link_job_and_is_reported_once(workflow):
    job = workflow.link_jobs.request(seed.SETS["link_test"], CATALOGER, REPORT)
    assert job.state == "running" and job.instance_id  # Alma had room: started at once
    run = workflow.sim.state.runs[job.instance_id]
    assert run.params["non_serial_match_profile"].endswith("uniqueOCLC")
    assert run.params["contribute_nz"] == "false"
    (done,) = workflow.until(lambda: reported(workflow), "the report")
    assert done.message_ts  # the start message's ts was kept
    (report_job, report) = workflow.notifier.reports[0]
    # the set holds a multi-match, which Alma reports as a warning
    assert report_job.id == job.id and report.status == "COMPLETED_WARNING" and report.outcome == "warning"
    assert report.counts["linked"] >= 1 and report.counts["multi_matched"] >= 1
    for _ in range(3):
        workflow.round()
    assert len(workflow.notifier.reports) == 1  # later rounds do not report it again
    assert [r["action"] for r in workflow.store.audit_rows()][:3] == [
        "link_requested", "link_started", "link_finished"]


def test_an_empty_set_is_refused_and_nothing_is_recorded(workflow):
    with pytest.raises(BadInput, match="empty"):
        workflow.link_jobs.request(seed.SETS["empty"], CATALOGER, REPORT)
    assert workflow.store.link_jobs() == []
    assert workflow.notifier.changed == []
    assert workflow.sim.state.runs == {}


def test_contribute_is_passed_only_when_asked(workflow):
    job = workflow.link_set(seed.CASES["no_match"], contribute=True)
    assert workflow.sim.state.runs[job.instance_id].params["contribute_nz"] == "true"


def test_beyond_almas_limit_requests_wait_and_start_in_order(workflow):
    workflow.sim.job_seconds = 0.5
    # No run may finish while the five are requested: on a loaded machine five requests can
    # take longer than a run, and a finished run makes room for a fourth.
    workflow.sim.state.runs_may_finish.clear()
    jobs = [workflow.link_set(seed.CASES["unique"], name=f"Limit set {n}") for n in range(5)]
    started = [j for j in jobs if j.state == "running"]
    waiting = [j for j in jobs if j.state == "queued"]
    # Alma runs one instance of a job at a time (60347: any running instance of the link job)
    assert len(started) == 1 and len(waiting) == 4
    assert all(j.note for j in waiting)  # each says why it waits
    workflow.sim.state.runs_may_finish.set()
    workflow.until(lambda: len(reported(workflow)) == 5, "all five reported", timeout=30)
    instances = [int(workflow.store.link_job(j.id).instance_id) for j in jobs]
    assert instances == sorted(instances), "queued requests start in the order they were made"


def test_a_report_claimed_before_a_crash_is_looked_for_not_posted_again(workflow):
    job = workflow.link_jobs.request(seed.SETS["link_test"], CATALOGER, REPORT)
    workflow.until(lambda: reported(workflow), "the report")
    assert len(workflow.notifier.reports) == 1
    # As if the process died after posting the report and before recording it: the report
    # is found where it was posted (report_posted), not posted a second time.
    # (no move of the workflow goes back from reported: the row is set as the crash left it)
    workflow.store.db["link_jobs"].update(job.id, {"state": "reporting"})
    workflow.until(lambda: reported(workflow), "the job reported again")
    assert len(workflow.notifier.reports) == 1


def test_a_failing_step_does_not_stop_the_others_and_is_tried_again(workflow, caplog):
    workflow.notifier.fail.add("post_report")  # Slack down when the report is due
    job = workflow.link_jobs.request(seed.SETS["link_test"], CATALOGER, REPORT)
    workflow.until(lambda: workflow.store.link_job(job.id).state == "reporting", "the report to be due")
    assert workflow.notifier.reports == []
    assert "report_finished failed" in caplog.text
    # the same round's other steps still ran: a second request starts meanwhile
    other = workflow.link_set(seed.CASES["unique"])
    workflow.round()
    assert workflow.store.link_job(other.id).state in ("running", "finished", "reporting", "reported")
    workflow.notifier.fail.clear()  # Slack is back
    workflow.until(lambda: workflow.store.link_job(job.id).state == "reported", "the report")
    assert [j.id for j, _ in workflow.notifier.reports].count(job.id) == 1


def test_multi_matches_left_after_the_job_become_cases(workflow):
    job = workflow.link_set(seed.CASES["unique"], seed.CASES["multi"], seed.CASES["multi_three"])
    workflow.until(lambda: workflow.store.link_job(job.id).reconciled, "the re-check after the job")
    cases = workflow.store.cases()
    assert sorted(c.iz_mms_id for c in cases) == sorted([seed.CASES["multi"], seed.CASES["multi_three"]])
    assert all(c.link_job == job.id and c.state == "open" for c in cases)
    ((found_job, case_ids),) = workflow.notifier.found
    assert found_job.id == job.id and sorted(case_ids) == sorted(c.id for c in cases)
    multi = next(c for c in cases if c.iz_mms_id == seed.CASES["multi"])
    assert set(multi.candidate_ids) == {seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]}


def test_a_run_started_in_almas_ui_is_tracked_and_reported(workflow):
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    workflow.sim.state.start_job_from_ui(seed.LINK_JOB_ID, {"set_id": seed.SETS["link_test"]})
    workflow.link_jobs.discover_ui_runs(since)
    workflow.link_jobs.discover_ui_runs(since)  # watching again adds nothing
    (job,) = workflow.store.link_jobs()
    assert job.requested_by == "alma"
    workflow.until(lambda: reported(workflow), "the report of the UI run")
    assert len(workflow.notifier.reports) == 1


def test_a_start_in_flight_is_not_taken_for_a_crashed_one(workflow):
    """Under load a round's resume_starting ran while a request's start was still on its
    way to Alma: it saw a STARTING job and no run yet, queued the request again, and the
    request's own move to RUNNING failed unseen. Discovery then adopted Alma's run as a
    UI run (a second link job, start message and report) and the request started a
    second run. A start in progress in this process is not a crashed one: the round waits."""
    set_id = workflow.sim.state.make_set("In flight", [seed.CASES["unique"]]).id
    workflow.sim.faults.latency = 1.5  # the start's POST waits in Alma
    requested = threading.Thread(target=workflow.link_jobs.request, args=(set_id, CATALOGER, REPORT))
    requested.start()
    deadline = time.monotonic() + 10
    while not workflow.store.link_jobs(JobState.STARTING) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workflow.store.link_jobs(JobState.STARTING), "the request is starting"
    workflow.sim.faults.latency = 0.0  # the round's own calls are answered at once
    workflow.link_jobs.resume_starting()
    requested.join(timeout=15)
    runs = list(workflow.sim.state.runs.values())
    [job] = workflow.store.link_jobs()
    assert job.state == JobState.RUNNING and [job.instance_id] == [r.id for r in runs]
    workflow.link_jobs.discover_ui_runs(datetime.now(timezone.utc) - timedelta(minutes=5))
    assert len(workflow.store.link_jobs()) == 1, "Alma's run is ours, not a UI run"
