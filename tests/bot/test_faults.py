"""Alma misbehaving, as the simulator's faults make it: bursts of 5xx, 429 storms, dropped
connections and 10-second answers. Through all of it the bot acks Slack within 3 s, retries
a bounded number of times, tells people plainly that Alma is down and that nothing
changed, and loses nothing: a request it recorded is started once Alma recovers and
reported exactly once, and a Program Manager's decision is carried out afterwards."""

from __future__ import annotations

import time

from alma.simulator import seed
from bot import action_ids
from tests.bot.conftest import PM, REPORT, block_text, click, review
from tests.bot.subprocess_bot import reports
from tests.conftest import settings_for

ACK_LIMIT = 3.0
RUN_JOB = "POST /almaws/v1/conf/jobs/{job_id}"
TROUBLE = "Alma is having trouble right now"
NOT_ANSWERING = "Alma is not answering right now"
NOTHING_CHANGED = "Nothing was changed"


def use_alma(harness, **settings) -> None:
    harness.overrides["alma"] = settings_for(harness.sim, **settings)


def not_jobs(counter) -> int:
    """Calls other than the scheduler's watching of jobs (which never stops)."""
    return sum(n for key, n in counter.items() if "/conf/jobs" not in key)


def command(harness, text, **kwargs):
    """Sends /nz `text` and checks that Slack got its ack in time."""
    started = time.monotonic()
    answer, name = harness.command(text, **kwargs)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, (text, answer.status_code)
    assert elapsed < ACK_LIMIT, f"/nz {text} acked after {elapsed:.2f}s"
    return answer, name


def timed_click(harness, action_id, value, **kwargs):
    started = time.monotonic()
    answer, name = click(harness, action_id, value, **kwargs)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and elapsed < ACK_LIMIT, (action_id, elapsed)
    return answer, name


def said(harness, name, timeout=20.0) -> str:
    return block_text(harness.response(name, timeout=timeout).args)


def assert_each_job_reported_once(harness, timeout=25.0, settle=0.8) -> None:
    harness.wait(lambda: all(j.state == "reported" for j in harness.store.link_jobs()),
                 timeout=timeout, what="every link job reported")
    time.sleep(settle)
    jobs = harness.store.link_jobs()
    posted = reports(harness.stub)
    for job in jobs:
        mine = [m for m in posted if m["metadata"]["event_payload"].get("link_job") == job.id]
        assert len(mine) == 1, f"link job {job.id} has {len(mine)} reports"
    assert len(posted) == len(jobs)
    assert sorted(j.instance_id for j in jobs) == sorted(harness.sim.state.runs), \
        "Alma ran each recorded job exactly once"


def test_a_5xx_burst_is_explained_plainly_with_bounded_retries_and_nothing_recorded(harness):
    use_alma(harness, max_retries=2, timeout_seconds=3)
    harness.start()
    harness.sim.faults.error_rate = 1.0
    alma_before, bot_before = not_jobs(harness.sim.calls), not_jobs(harness.bot.services.alma.http.calls)
    names = [command(harness, text)[1] for text in (
        f"match {seed.CASES['unique']}", "match 41234567",
        f"preview {seed.SETS['link_test']}", f"link {seed.SETS['link_test']}",
        "link Link job test set")]
    _, send = timed_click(harness, action_ids.SEND_TO_PM, seed.CASES["multi"], user="UCATALOG1",
                          channel=REPORT)
    for name in names + [send]:
        text = said(harness, name)
        assert TROUBLE in text and NOTHING_CHANGED in text, text
    sent = not_jobs(harness.bot.services.alma.http.calls) - bot_before
    attempts = not_jobs(harness.sim.calls) - alma_before
    assert 1 <= sent <= 7  # one failed request per command: nothing goes on after a failure
    assert attempts <= 3 * sent, f"{attempts} attempts for {sent} requests with max_retries=2"
    assert harness.store.link_jobs() == [] and harness.store.cases() == []
    assert harness.sim.calls[RUN_JOB] == 0
    assert harness.stub.messages(REPORT) == []
    # and when the burst is over, the same request just works
    harness.sim.faults.error_rate = 0.0
    _, name = command(harness, f"link {seed.SETS['link_test']}")
    assert "has started" in said(harness, name)
    assert_each_job_reported_once(harness)


def test_link_requests_during_a_half_broken_alma_are_refused_or_finished_never_lost(harness):
    use_alma(harness, max_retries=1, timeout_seconds=3)
    harness.start()
    harness.sim.faults.error_rate = 0.6
    sets = [harness.sim.state.make_set(f"Flaky {n}", [seed.CASES[c]]).id
            for n, c in enumerate(("unique", "unique_2", "unique_3", "serial_unique"))]
    names = [command(harness, f"link {set_id}")[1] for set_id in sets]
    answers = {set_id: said(harness, name) for set_id, name in zip(sets, names)}
    time.sleep(1.5)  # the bot keeps working through the errors for a while
    harness.sim.faults.error_rate = 0.0
    accepted = [s for s, text in answers.items() if TROUBLE not in text]
    refused = [s for s, text in answers.items() if TROUBLE in text]
    for set_id in refused:
        assert NOTHING_CHANGED in answers[set_id]
    for set_id in accepted:
        assert "has started" in answers[set_id] or "is queued" in answers[set_id], answers[set_id]
    assert sorted(j.set_id for j in harness.store.link_jobs()) == sorted(accepted)
    if accepted:
        assert_each_job_reported_once(harness)
    for set_id in refused:
        assert all(r.params.get("set_id") != set_id for r in harness.sim.state.runs.values())


def test_a_request_queued_while_alma_errors_starts_once_alma_recovers(harness):
    use_alma(harness, max_retries=1, timeout_seconds=3)
    harness.sim.state.job_limits.max_running_api_jobs = 0
    harness.start()
    _, name = command(harness, f"link {seed.SETS['link_test']}")
    assert "is queued" in said(harness, name)
    harness.sim.faults.error_rate = 1.0  # Alma goes down with the request waiting
    harness.sim.state.job_limits.max_running_api_jobs = 3
    harness.wait(lambda: any("could not start it yet" in (j.note or "")
                             for j in harness.store.link_jobs("queued")),
                 what="the request back in the queue, saying why")
    posts = harness.sim.calls[RUN_JOB]
    time.sleep(1.0)
    assert harness.sim.state.runs == {}
    assert [j.state for j in harness.store.link_jobs()] in (["queued"], ["starting"])
    assert harness.sim.calls[RUN_JOB] - posts <= 8, "a refused start is not hammered"
    start = next(m for m in harness.stub.messages(REPORT) if not m.get("thread_ts"))
    assert "could not start it yet" in block_text(start)
    harness.sim.faults.error_rate = 0.0
    assert_each_job_reported_once(harness)
    assert len(harness.store.link_jobs()) == 1


def test_a_start_whose_answer_timed_out_is_adopted_not_run_twice(harness):
    use_alma(harness, max_retries=1, timeout_seconds=1.5)
    harness.sim.state.job_limits.max_running_api_jobs = 0
    harness.start()
    _, name = command(harness, f"link {seed.SETS['link_test']}")
    assert "is queued" in said(harness, name)
    harness.sim.faults.latency = 2.5  # Alma does the work, but answers after nzbot gave up
    harness.sim.state.job_limits.max_running_api_jobs = 3
    harness.wait(lambda: harness.sim.state.runs, timeout=15, what="Alma to start the run")
    assert [j.state for j in harness.store.link_jobs()] == ["starting"]
    harness.sim.faults.latency = 0.0
    assert_each_job_reported_once(harness)


def test_a_429_storm_is_waited_out_with_bounded_retries(harness):
    use_alma(harness, max_retries=3, timeout_seconds=3)
    harness.overrides["discover_seconds"] = 5.0
    harness.start()
    harness.sim.faults.per_second_limit = 2
    alma_before, bot_before = not_jobs(harness.sim.calls), not_jobs(harness.bot.services.alma.http.calls)
    names = [command(harness, text)[1] for text in (
        f"match {seed.CASES['multi']}", f"preview {seed.SETS['link_test']}",
        f"match {seed.CASES['unique_2']}")]
    texts = [said(harness, name, timeout=30) for name in names]
    for text, expected in zip(texts, ("IZ record", "Preview of set", "IZ record")):
        # each either answered, or said plainly that Alma is overloaded
        assert (TROUBLE in text and NOTHING_CHANGED in text) or text.startswith(expected), text
    assert any(TROUBLE not in t for t in texts), "a storm of 2 calls/s is survivable"
    sent = not_jobs(harness.bot.services.alma.http.calls) - bot_before
    attempts = not_jobs(harness.sim.calls) - alma_before
    assert attempts > sent, "the storm was real: some calls were refused and retried"
    assert attempts <= 4 * sent, f"{attempts} attempts for {sent} requests with max_retries=3"
    harness.sim.faults.per_second_limit = None
    assert harness.store.link_jobs() == []
    assert harness.sim.calls[RUN_JOB] == 0


def test_a_link_job_runs_to_one_report_through_a_429_storm(harness):
    use_alma(harness, max_retries=3, timeout_seconds=3)
    harness.start()
    harness.sim.faults.per_second_limit = 3
    _, name = command(harness, f"link {seed.SETS['link_test']}")
    text = said(harness, name, timeout=30)
    if TROUBLE in text:  # refused plainly: then nothing may have been recorded
        assert harness.store.link_jobs() == []
        harness.sim.faults.per_second_limit = None
        _, name = command(harness, f"link {seed.SETS['link_test']}")
        text = said(harness, name)
    assert "has started" in text or "is queued" in text, text
    time.sleep(2.0)
    harness.sim.faults.per_second_limit = None
    assert_each_job_reported_once(harness, timeout=30)


def test_dropped_connections_say_alma_is_not_answering_and_change_nothing(harness):
    use_alma(harness, max_retries=2, timeout_seconds=3)
    harness.start()
    harness.sim.faults.drop_rate = 1.0
    alma_before, bot_before = not_jobs(harness.sim.calls), not_jobs(harness.bot.services.alma.http.calls)
    names = [command(harness, text)[1] for text in (
        f"match {seed.CASES['unique']}", f"preview {seed.SETS['link_test']}",
        f"link {seed.SETS['link_test']}")]
    for name in names:
        text = said(harness, name)
        assert NOT_ANSWERING in text and NOTHING_CHANGED in text, text
    sent = not_jobs(harness.bot.services.alma.http.calls) - bot_before
    attempts = not_jobs(harness.sim.calls) - alma_before
    assert 1 <= sent <= 4 and attempts <= 3 * sent, (sent, attempts)
    assert harness.store.link_jobs() == [] and harness.stub.messages(REPORT) == []


def test_a_link_job_through_flaky_connections_is_reported_once(harness):
    use_alma(harness, max_retries=2, timeout_seconds=3)
    harness.sim.job_seconds = 1.5
    harness.start()
    _, name = command(harness, f"link {seed.SETS['link_test']}")
    assert "has started" in said(harness, name)
    harness.sim.faults.drop_rate = 0.5  # while it runs, half the connections drop
    time.sleep(2.5)
    harness.sim.faults.drop_rate = 0.0
    assert_each_job_reported_once(harness)
    assert len(harness.store.link_jobs()) == 1


def test_ten_second_answers_never_delay_the_ack_and_time_out_plainly(harness):
    use_alma(harness, max_retries=1, timeout_seconds=1.5)
    harness.start()
    harness.sim.faults.latency = 10.0
    names = [command(harness, text)[1] for text in (
        f"match {seed.CASES['unique']}", f"preview {seed.SETS['link_test']}",
        f"link {seed.SETS['link_test']}", "help", "jobs", "cases")]
    _, send = timed_click(harness, action_ids.SEND_TO_PM, seed.CASES["multi"], user="UCATALOG1",
                          channel=REPORT)
    for name in names[:3] + [send]:
        text = said(harness, name, timeout=15)
        assert NOT_ANSWERING in text and NOTHING_CHANGED in text and "1.5 s" in text, text
    assert harness.store.link_jobs() == [] and harness.store.cases() == []
    assert harness.sim.calls[RUN_JOB] == 0


def test_a_decision_made_while_alma_is_down_is_carried_out_when_it_recovers(harness):
    use_alma(harness, max_retries=1, timeout_seconds=3)
    harness.start()
    iz, chosen = seed.CASES["multi_three"], seed.NZ_RECORDS["multi_three_c"]
    harness.command(f"link {harness.sim.state.make_set('Decide while down', [iz]).id}")
    case = harness.wait(lambda: next(iter(harness.store.cases()), None), what="the case")
    review(harness, case)
    harness.sim.faults.error_rate = 1.0
    _, name = timed_click(harness, f"{action_ids.LINK_CANDIDATE}:3", f"{case.id}:{chosen}", user=PM)
    time.sleep(2.5)  # several rounds of the scheduler fail against Alma
    waiting = harness.store.case(case.id)
    assert waiting.state == "deciding" and waiting.chosen_nz_mms_id == chosen, waiting
    assert harness.stub.responses(name) == [], "a recorded decision is not an error"
    assert harness.sim.state.linked_nz_id_of(iz) is None
    harness.sim.faults.error_rate = 0.0
    done = harness.wait(lambda: harness.store.case(case.id).state in ("linked", "failed")
                        and harness.store.case(case.id), timeout=25, what="the case settled")
    assert done.state == "linked", done.note
    assert harness.sim.state.linked_nz_id_of(iz) == chosen
    assert_each_job_reported_once(harness)
    first = harness.store.link_job(case.link_job)
    replies = [m for m in harness.stub.messages(REPORT)
               if m.get("thread_ts") == first.message_ts and "linked and verified" in block_text(m)]
    assert len(replies) == 1
