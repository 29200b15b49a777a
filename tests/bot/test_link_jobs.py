"""Link jobs from Slack to the report: start, progress, the report in the thread, cases,
Alma's job limits, runs started in Alma's UI, and restarts."""

from __future__ import annotations

import time

from alma.simulator import seed
from tests.bot.conftest import CATALOGER, REPORT, block_text

REPORT_EVENT = "nzbot_job_report"


def reports(harness) -> list[dict]:
    return [m for m in harness.stub.messages(REPORT)
            if (m.get("metadata") or {}).get("event_type") == REPORT_EVENT]


def start_messages(harness) -> list[dict]:
    return [m for m in harness.stub.messages(REPORT) if not m.get("thread_ts")]


def test_a_link_job_from_start_to_report(harness):
    harness.sim.job_seconds = 1.5
    harness.start()
    _, name = harness.command(f"link {seed.SETS['link_test']}")
    assert "has started" in block_text(harness.response(name).args)
    started = harness.wait(lambda: start_messages(harness), what="the start message")[0]
    text = block_text(started)
    assert f"<@{CATALOGER}>" in text and "Link job test set" in text and "9" in text
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the report")
    (report,) = reports(harness)
    assert report["thread_ts"] == started["ts"]
    report_text = block_text(report)
    assert "Linked" in report_text and "Multi-match" in report_text
    updates = harness.stub.calls("chat.update")
    assert updates, "the start message is edited as the job moves"
    assert len(start_messages(harness)) == 1, "one start message, however many threads saw the job"
    job = harness.store.link_jobs()[0]
    assert job.state == "reported" and job.status in ("COMPLETED_SUCCESS", "COMPLETED_WARNING")
    counters = {c.key: c.value for c in job.counters}
    assert counters["link_bib_to_nz.linked"] >= 4
    # the job's parameters were the guidance's: Unique OCLC both ways, no contribution
    (run,) = harness.sim.state.runs.values()
    assert run.params["set_id"] == seed.SETS["link_test"]
    assert run.params["non_serial_match_profile"].endswith("uniqueOCLC")
    assert run.params["serial_match_profile"].endswith("uniqueOCLC")
    assert run.params["ignoreResourceType"] == "false"
    assert run.params["contribute_nz"] == "false"


def test_multi_matches_left_after_the_job_become_cases(harness):
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: harness.store.cases(), what="cases")
    cases = harness.store.cases()
    assert [c.iz_mms_id for c in cases] == [seed.CASES["multi"]]
    assert {c.mms_id for c in cases[0].candidates} == {
        seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]}
    assert cases[0].state == "open" and cases[0].link_job == harness.store.link_jobs()[0].id
    harness.wait(lambda: any("multi-match" in block_text(m) and m.get("thread_ts")
                             for m in harness.stub.messages(REPORT)), what="the cases note")
    actions = [row["action"] for row in harness.store.audit_rows()]
    for action in ("link_requested", "link_started", "link_finished", "job_reported", "case_opened"):
        assert action in actions


def test_contribute_is_passed_only_when_asked(harness):
    harness.start()
    harness.command(f"link {seed.SETS['link_test']} contribute")
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the report")
    (run,) = harness.sim.state.runs.values()
    assert run.params["contribute_nz"] == "true"
    assert harness.store.link_jobs()[0].contribute
    assert harness.sim.state.linked_nz_id_of(seed.CASES["no_match"])  # imported, then linked


def test_requests_beyond_almas_job_limit_queue_and_start_in_order(harness):
    # The first three runs must outlast the five requests (their start messages paced to
    # Slack's one post a second per channel), even on a loaded machine (a run's
    # length is fixed when Alma starts it); the two that wait run quickly, set below.
    harness.sim.job_seconds = 6.0
    harness.start()
    sets = []
    for i in range(5):
        sets.append(harness.sim.state.make_set(f"Batch {i}", [seed.CASES["unique"]]).id)
    for set_id in sets:  # one after another, each answered before the next
        _, name = harness.command(f"link {set_id}")
        harness.response(name)
    # Alma runs three API jobs at a time: the others wait, and say why
    queued = harness.wait(lambda: [j for j in harness.store.link_jobs("queued") if j.note],
                          what="a queued request saying why it waits")
    assert all("job limit" in job.note for job in queued)
    assert any("queued" in block_text(c.args) and "job limit" in block_text(c.args)
               for c in harness.stub.responses()), "the requester is told it waits, and why"
    harness.sim.job_seconds = 0.5
    harness.wait(lambda: len(reports(harness)) == 5, timeout=30, what="five reports")
    # a report is posted first, then recorded (a crash between the two finds the post by its
    # metadata): the last job's state may follow its report by a moment (seen in a loaded run)
    harness.wait(lambda: all(j.state == "reported" for j in harness.store.link_jobs()), what="five recorded")
    jobs = harness.store.link_jobs()
    assert [j.set_id for j in jobs] == sets
    starts = [int(j.instance_id) for j in jobs]
    assert starts == sorted(starts), "queued requests start in the order they were made"
    assert harness.sim.calls["POST /almaws/v1/conf/jobs/{job_id}"] > 5  # refused, then retried


def test_a_run_started_in_almas_ui_is_reported(harness):
    harness.start()
    harness.wait(lambda: harness.sim.calls["GET /almaws/v1/conf/jobs/{job_id}/instances"] > 0,
                 what="the bot watching Alma")
    harness.sim.state.start_job_from_ui(seed.LINK_JOB_ID, {"set_id": seed.SETS["link_test"]})
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the report of the UI run")
    (job,) = harness.store.link_jobs()
    assert job.requested_by == "alma" and job.state == "reported"
    time.sleep(1.0)
    assert len(reports(harness)) == 1  # watching again does not report it twice


def test_a_restart_mid_job_reports_exactly_once(harness):
    harness.sim.job_seconds = 2.0
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: harness.store.link_jobs("running"), what="a running job")
    harness.stop()  # the bot goes away while Alma works
    time.sleep(2.5)  # the job finishes while nobody watches
    harness.start()
    harness.wait(lambda: reports(harness), what="the report")
    time.sleep(1.0)
    assert len(reports(harness)) == 1
    assert len(start_messages(harness)) == 1


def test_a_crash_after_posting_the_report_does_not_post_it_again(harness):
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: reports(harness), what="the report")
    job = harness.store.link_jobs()[0]
    harness.stop()
    # as if the process died between posting and recording it
    from nzbot.store import Store
    # (no move of the workflow goes back from reported: the row is set as the crash left it)
    Store(str(harness.db_path)).db["link_jobs"].update(job.id, {"state": "reporting"})
    harness.start()
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the job reported again")
    time.sleep(0.5)
    assert len(reports(harness)) == 1


def test_slack_down_when_the_job_starts_still_gets_a_start_message_and_report(harness):
    harness.start()
    harness.stub.fail_next("chat.postMessage", error="service_unavailable", times=1)
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: reports(harness), what="the report")
    assert len(start_messages(harness)) == 1


def test_jobs_lists_running_and_recent_link_jobs(harness):
    harness.sim.job_seconds = 3
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: harness.store.link_jobs("running"), what="a running job")
    answer, _ = harness.command("jobs")
    text = block_text(answer.json())
    assert "Link job test set" in text
