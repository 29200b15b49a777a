"""Schedules' runs in the workflow (nzbot/schedules.py) against the Alma simulator: the
rounds are turned by the test at chosen moments (`Schedules.tick(at)`), so that a due time,
a crash between requesting a run and recording it, and missed due times are each exact."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from alma.simulator import seed
from nzbot.access import EVERY_MEMBER
from nzbot.linkjobs import Scheduled
from nzbot.schedules import Schedules, schedule_words
from nzbot.states import RunState
from tests.nzbot.conftest import CATALOGER, REPORT

MADE = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def schedules(workflow):
    return Schedules(workflow.store, workflow.link_jobs, workflow.notifier, ZoneInfo("UTC"), timedelta(hours=6))


def daily(workflow, at: str = "02:00"):
    return workflow.store.add_schedule(seed.SETS["link_test"], "Link job test set", f"daily {at}", CATALOGER, REPORT,
                                       created_at=MADE.isoformat())


def test_one_due_time_is_one_run_however_many_rounds_see_it(workflow, schedules):
    schedule = daily(workflow)
    due = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
    schedules.tick(due - timedelta(seconds=1))
    assert workflow.store.link_jobs() == []  # not yet
    for seconds in (0, 1, 30, 90):
        schedules.tick(due + timedelta(seconds=seconds))
    (job,) = workflow.store.link_jobs()
    assert job.scheduled == schedule_words(schedule) == "schedule 1, daily 02:00"
    (run,) = workflow.store.schedule_runs(schedule.id)
    assert (run.state, run.link_job, run.due_at) == (RunState.REQUESTED, job.id, due.isoformat())


def test_a_run_requested_just_before_a_crash_is_found_not_requested_again(workflow, schedules):
    schedule = daily(workflow)
    due = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
    # the killed process recorded the run and its link job, not that the run was requested
    assert workflow.store.claim_schedule_run(schedule.id, due.isoformat())
    (run,) = workflow.store.schedule_runs(schedule.id)
    job = workflow.link_jobs.request(schedule.set_id, CATALOGER, REPORT, scheduled=Scheduled(run.id, "schedule 1"))
    schedules.tick(due + timedelta(seconds=5))
    assert [j.id for j in workflow.store.link_jobs()] == [job.id]
    assert workflow.store.schedule_runs(schedule.id)[0].state == RunState.REQUESTED
    assert workflow.store.schedule_runs(schedule.id)[0].link_job == job.id


def test_of_several_missed_due_times_only_the_latest_runs(workflow, schedules):
    schedule = daily(workflow)
    schedules.tick(datetime(2026, 12, 5, 4, 0, tzinfo=timezone.utc))  # down since the 1st: 2 hours late
    (run,) = workflow.store.schedule_runs(schedule.id)
    assert run.due_at == datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc).isoformat()
    assert run.state == RunState.REQUESTED and len(workflow.store.link_jobs()) == 1


def test_a_skipped_run_is_said_once_even_when_slack_was_down_the_first_time(workflow, schedules):
    schedule = daily(workflow)
    workflow.notifier.fail.add("schedule_run_said")
    late = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)  # 7 hours late: beyond the grace
    schedules.tick(late)
    assert workflow.notifier.said_runs == []
    workflow.notifier.fail.clear()
    for minutes in range(3):
        schedules.tick(late + timedelta(minutes=minutes))
    (said,) = workflow.notifier.said_runs
    assert said[0].id == schedule.id and said[1].state == RunState.SKIPPED
    assert "more than 6 hours late" in said[1].note and "Thu 3 Dec 2026 02:00" in said[1].note
    assert workflow.store.link_jobs() == []


def test_a_schedule_made_after_its_time_today_first_runs_tomorrow(workflow, schedules):
    schedule = workflow.store.add_schedule(seed.SETS["link_test"], "Link job test set", "daily 02:00", CATALOGER,
                                           REPORT, created_at="2026-12-02T02:30:00+00:00")
    schedules.tick(datetime(2026, 12, 2, 2, 31, tzinfo=timezone.utc))
    assert workflow.store.schedule_runs(schedule.id) == []
    listed = schedules.listed(scope=EVERY_MEMBER, at=datetime(2026, 12, 2, 2, 31, tzinfo=timezone.utc))
    assert listed[0].next_run == "Thu 3 Dec 2026 02:00" and listed[0].last_result == "not run yet"
