"""`kill -9` of a real `nzbot run` process at each stage of a link job and of a case, then a
new process on the same database: every job is reported exactly once, no request is lost,
Alma runs each job once, and every case ends where its decision said."""

from __future__ import annotations

import threading
import time

import pytest

from alma.simulator import seed
from alma.simulator import server as sim_server
from bot import action_ids
from tests.bot.conftest import block_text
from tests.bot.subprocess_bot import (
    REPORT,
    SubprocessBot,
    reports,
    wait_until,
)
from tests.bot.subprocess_bot import bot, stub  # noqa: F401 (fixtures)

RUN_JOB = "POST /almaws/v1/conf/jobs/{job_id}"


def start_messages(stub) -> list[dict]:
    return [m for m in stub.messages(REPORT) if not m.get("thread_ts")]


def assert_each_job_reported_once(bot: SubprocessBot, settle: float = 1.0) -> None:
    """Every link job is reported, by exactly one report message in its own thread, and
    has exactly one start message; nothing more arrives while the bot keeps running."""
    wait_until(lambda: bot.store.link_jobs() and all(j.state == "reported" for j in bot.store.link_jobs()),
               timeout=25, what="every link job reported")
    time.sleep(settle)  # a second report would come within a few scheduler rounds
    jobs = bot.store.link_jobs()
    posted = reports(bot.stub)
    for job in jobs:
        mine = [m for m in posted if m["metadata"]["event_payload"].get("link_job") == job.id]
        assert len(mine) == 1, f"link job {job.id}: {len(mine)} reports"
        assert mine[0]["thread_ts"] == job.message_ts and mine[0]["ts"] == job.report_ts
    assert len(posted) == len(jobs)
    assert len(start_messages(bot.stub)) == len(jobs)
    # Alma ran each job once: one run per link job, no run that nzbot does not know
    runs = bot.sim.state.runs
    assert len(runs) == len(jobs)
    assert sorted(j.instance_id for j in jobs) == sorted(runs)


def link(bot: SubprocessBot, set_id: str) -> None:
    answer, name = bot.command(f"link {set_id}")
    assert answer.status_code == 200


def test_killed_while_the_request_is_queued(sim, bot):
    sim.state.job_limits.max_running_api_jobs = 0  # Alma refuses every API job for now
    bot.start()
    link(bot, seed.SETS["link_test"])
    wait_until(lambda: any(j.note and "job limit" in j.note for j in bot.store.link_jobs("queued")),
               what="the request queued behind Alma's job limit")
    bot.kill()
    assert sim.state.runs == {}
    sim.state.job_limits.max_running_api_jobs = 3
    bot.start()
    assert_each_job_reported_once(bot)
    (job,) = bot.store.link_jobs()
    assert job.set_id == seed.SETS["link_test"]
    assert {c.key: c.value for c in job.counters}["link_bib_to_nz.linked"] >= 4


@pytest.fixture
def held_job_answers(sim):
    """Alma starts the run, but its answer to the POST is held back until `.set()`."""
    index = next(i for i, route in enumerate(sim_server.ROUTES) if route[2] == RUN_JOB)
    original = sim_server.ROUTES[index]
    method, pattern, key, handler = original
    release = threading.Event()

    def slow_answer(simulator, req):
        result = handler(simulator, req)  # the run exists in Alma from here on
        release.wait(15)
        return result

    sim_server.ROUTES[index] = (method, pattern, key, slow_answer)
    try:
        yield release
    finally:
        sim_server.ROUTES[index] = original
        release.set()


def test_killed_after_alma_started_the_job_but_before_nzbot_heard_which_run(sim, bot, held_job_answers):
    """The worst moment: Alma has the run, nzbot's row still says `starting`."""
    bot.start()
    link(bot, seed.SETS["link_test"])
    wait_until(lambda: len(sim.state.runs) == 1, what="Alma to start the run")
    assert [j.state for j in bot.store.link_jobs()] == ["starting"]
    bot.kill()
    held_job_answers.set()
    wait_until(lambda: all(r.finished for r in sim.state.runs.values()), what="the run to finish")
    bot.start()
    assert_each_job_reported_once(bot)  # adopted, not started a second time


def test_killed_while_the_alma_job_runs(sim, bot):
    sim.job_seconds = 3.0
    bot.start()
    link(bot, seed.SETS["link_test"])
    wait_until(lambda: bot.store.link_jobs("running"), what="a running job")
    bot.kill()
    wait_until(lambda: all(r.finished for r in sim.state.runs.values()), timeout=10,
               what="the run to finish while nzbot is down")
    bot.start()
    assert_each_job_reported_once(bot)
    started = start_messages(bot.stub)[0]
    assert "Link job test set" in block_text(started)


def test_killed_when_the_job_finished_but_its_report_could_not_be_posted(sim, stub, bot):
    sim.job_seconds = 1.5
    bot.start()
    link(bot, seed.SETS["link_test"])
    wait_until(lambda: [j for j in bot.store.link_jobs("running") if j.message_ts],
               what="the start message")
    stub.fail_next("chat.postMessage", error="fatal_error", times=10**6)  # Slack is down
    wait_until(lambda: bot.store.link_jobs("reporting"), timeout=15, what="a report being claimed")
    wait_until(lambda: any(c.args.get("metadata") for c in stub.calls("chat.postMessage") if not c.ok),
               what="the report failing to post")
    bot.kill()
    assert reports(stub) == []
    stub.clear_failures()
    bot.start()
    assert_each_job_reported_once(bot)


def test_killed_while_a_decision_is_being_linked(sim, stub, bot):
    iz = seed.CASES["multi_three"]
    chosen = seed.NZ_RECORDS["multi_three_b"]
    bot.start()
    link(bot, sim.state.make_set("Kill test set", [iz]).id)
    case = wait_until(lambda: next(iter(bot.store.cases()), None), what="the case")
    # the job's queue message; "Review cases" shows the case in it
    channel, ts = wait_until(lambda: next(iter(bot.store.queue_messages_of(case.link_job)), None),
                             what="the queue message")
    bot.click(action_ids.REVIEW_CASES, str(case.link_job), channel=channel, message_ts=ts)
    wait_until(lambda: bot.store.case_messages(case.id), what="the case in the queue message")
    first_job = bot.store.link_job(case.link_job)
    sim.job_seconds = 3.0  # the decision's link job takes a while
    answer, _ = bot.click(f"{action_ids.LINK_CANDIDATE}:2", f"{case.id}:{chosen}", channel=channel,
                          message_ts=ts)
    assert answer.status_code == 200
    wait_until(lambda: bot.store.case(case.id).state == "linking", what="the case linking")
    bot.kill()
    assert sim.state.linked_nz_id_of(iz) is None
    bot.start()
    done = wait_until(lambda: bot.store.case(case.id).state in ("linked", "failed")
                      and bot.store.case(case.id), timeout=25, what="the case settled")
    assert done.state == "linked", done.note
    assert done.chosen_nz_mms_id == chosen and sim.state.linked_nz_id_of(iz) == chosen

    def replies() -> list[dict]:
        return [m for m in stub.messages(REPORT)
                if m.get("thread_ts") == first_job.message_ts and "linked and verified" in block_text(m)]

    # The case is settled first, then its outcome is posted in the job's thread (and sent
    # again later if Slack did not take it): on a busy machine the post comes a moment after
    # the state, so it is waited for, then counted once more settled (CI saw it asserted early).
    wait_until(replies, what="the outcome in the revealing job's thread")
    assert_each_job_reported_once(bot)
    assert len(bot.store.link_jobs()) == 2  # the revealing job and the decision's job
    assert len(replies()) == 1
    # the PM's one queue message, updated in place (was: the case's own message)
    assert bot.store.queue_messages_of(case.link_job) == [(channel, ts)]
    assert len(stub.messages(channel)) == 1
    assert bot.starts == 2


# --- the token route (issue 10): kill -9 at each step, then a restart --------------------

PUT_BIB = "PUT /almaws/v1/bibs/{mms_id}"


@pytest.fixture
def hold_put(sim):
    """Holds the first PUT of a bib that `wanted(zone, body)` picks: `after` Alma changed the
    record (nzbot has not heard), or `before` it does. `.held` is set while it waits."""
    index = next(i for i, route in enumerate(sim_server.ROUTES) if route[2] == PUT_BIB)
    original = sim_server.ROUTES[index]
    method, pattern, key, handler = original
    control = {"wanted": None, "when": "after"}
    held, release = threading.Event(), threading.Event()

    def holding(simulator, req):
        wanted = control["wanted"]
        if wanted is None or held.is_set() or not wanted(req.zone, req.body.decode()):
            return handler(simulator, req)
        if control["when"] == "before":  # and never done: the request died with nzbot
            held.set()
            release.wait(30)
            raise sim_server.AlmaAnswer(503, "INTERNAL_SERVER_ERROR", "The caller went away.")
        result = handler(simulator, req)
        held.set()
        release.wait(30)
        return result

    sim_server.ROUTES[index] = (method, pattern, key, holding)
    control.update(held=held, release=release)
    try:
        yield control
    finally:
        sim_server.ROUTES[index] = original
        release.set()


def tokens_in_nz(sim) -> list[str]:
    with sim.state.lock:
        return [v for bib in sim.state.nz.values() for v in bib.marc.values_035("a") if v.startswith("(NZBOT)")]


@pytest.mark.parametrize("step", ["token_never_reached_nz", "token_put_on_nz", "token_put_on_iz",
                                  "link_job_running", "token_being_taken_off", "token_taken_off_unrecorded"])
def test_killed_at_each_token_step_ends_linked_with_no_token_left(sim, stub, tmp_path, hold_put, step):
    iz = seed.CASES["multi"]
    chosen = seed.NZ_RECORDS["multi_b"]  # no 035 singles it out: the token route
    bot = SubprocessBot(sim, stub, tmp_path, extra_env={"ALMA_NZ_API_KEY": sim.nz_api_key})
    try:
        bot.start()
        link(bot, sim.state.make_set("Token kill set", [iz]).id)
        case = wait_until(lambda: next(iter(bot.store.cases()), None), what="the case")
        # the job's queue message; "Review cases" shows the case in it (was: its own DM)
        channel, ts = wait_until(lambda: next(iter(bot.store.queue_messages_of(case.link_job)), None),
                                 what="the queue message")
        bot.click(action_ids.REVIEW_CASES, str(case.link_job), channel=channel, message_ts=ts)
        wait_until(lambda: bot.store.case_messages(case.id), what="the case in the queue message")
        if step == "token_never_reached_nz":  # recorded as placing; the PUT died with nzbot
            hold_put.update(wanted=lambda zone, body: zone == "nz" and "(NZBOT)" in body, when="before")
        elif step == "token_put_on_nz":  # the NZ record has it; nzbot has not heard
            hold_put.update(wanted=lambda zone, body: zone == "nz" and "(NZBOT)" in body, when="after")
        elif step == "token_put_on_iz":
            hold_put.update(wanted=lambda zone, body: zone == "iz" and "(NZBOT)" in body, when="after")
        elif step == "token_being_taken_off":  # killed before the token came off the NZ record
            hold_put.update(wanted=lambda zone, body: zone == "nz" and "(NZBOT)" not in body, when="before")
        elif step == "token_taken_off_unrecorded":  # off the NZ record; nzbot has not heard
            hold_put.update(wanted=lambda zone, body: zone == "nz" and "(NZBOT)" not in body, when="after")
        else:
            sim.job_seconds = 3.0
        answer, _ = bot.click(f"{action_ids.LINK_CANDIDATE}:2", f"{case.id}:{chosen}")
        assert answer.status_code == 200
        if step == "link_job_running":
            wait_until(lambda: bot.store.case(case.id).linking_job
                       and bot.store.link_job(bot.store.case(case.id).linking_job).state == "running",
                       what="the token route's link job running")
            assert tokens_in_nz(sim)  # the token is on the chosen record meanwhile
        else:
            assert hold_put["held"].wait(20), f"nzbot never reached {step}"
        bot.kill()
        hold_put["wanted"] = None
        hold_put["release"].set()
        if step == "token_being_taken_off":
            time.sleep(0.2)
            assert tokens_in_nz(sim), "the token was still on the NZ record when nzbot died"
        if step == "token_never_reached_nz":
            assert not tokens_in_nz(sim) and [t.state for t in bot.store.link_tokens()] == ["placing"]
        if step == "token_taken_off_unrecorded":
            assert not tokens_in_nz(sim) and [t.state for t in bot.store.link_tokens()] == ["removing"]
        bot.start()
        done = wait_until(lambda: bot.store.case(case.id).state in ("linked", "failed") and bot.store.case(case.id),
                          timeout=30, what="the case settled")
        assert done.state == "linked", done.note
        assert sim.state.linked_nz_id_of(iz) == chosen
        wait_until(lambda: all(t.state == "removed" for t in bot.store.link_tokens()), timeout=20,
                   what="every token taken off")
        assert tokens_in_nz(sim) == []
        assert len(bot.store.link_tokens()) == 1  # one token: the restart went on with it
        assert sim.state.iz[iz].linked_nz_id == chosen
        assert len([r for r in sim.state.runs.values() if r.params.get("non_serial_match_prefix") == "(NZBOT)"]) == 1
        assert bot.starts == 2
    finally:
        bot.stop()
