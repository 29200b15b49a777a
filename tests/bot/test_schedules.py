"""Schedules over HTTP (issue 22): `/nz schedule`, `/nz schedules`, `/nz unschedule`, and
their runs by the scheduler's rounds against the Alma simulator: a run after a kill -9, a
missed run within and beyond the grace, a run whose previous run is still going, and the
quota spent. A database holding a schedule made hours ago is written with the store, as a
restart would find it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from alma.simulator import seed
from nzbot.access import EVERY_MEMBER
from nzbot.store import Store
from tests.bot.conftest import CATALOGER, REPORT, block_text
from tests.bot.subprocess_bot import wait_until
from tests.bot.subprocess_bot import bot, stub  # noqa: F401 (fixtures)
from tests.bot.test_consortium import OSU_CATALOGER, OSU_CHANNEL, UO_CATALOGER, UO_CHANNEL, two  # noqa: F401

SCHEDULE_RUN_EVENT = "nzbot_schedule_run"


def schedule_notes(stub) -> list[dict]:
    """The report channel's messages saying a schedule's run was skipped or waits."""
    return [m for m in stub.messages(REPORT) if (m.get("metadata") or {}).get("event_type") == SCHEDULE_RUN_EVENT]


def hh_mm(moment: datetime, zone: str = "UTC") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def made_earlier(db_path, hours_ago: float, due_hours_ago: float, set_id: str) -> int:
    """A database holding a daily schedule made `hours_ago`, last due `due_hours_ago`: as a
    bot down since before that due time finds it when it starts."""
    now = datetime.now(timezone.utc)
    store = Store(str(db_path))
    try:
        schedule = store.add_schedule(set_id, "Link job test set", f"daily {hh_mm(now - timedelta(hours=due_hours_ago))}",
                                      CATALOGER, REPORT,
                                      created_at=(now - timedelta(hours=hours_ago)).isoformat(timespec="seconds"))
    finally:
        store.close()
    return schedule.id


# --------------------------------------------------------------------------- the commands


def test_a_schedule_is_made_listed_and_removed(harness):
    harness.start()
    answer, name = harness.command(f"schedule {seed.SETS['link_test']} weekly mon 02:00")
    assert answer.status_code == 200
    made = block_text(harness.response(name).args)
    assert "schedule 1, weekly mon 02:00" in made and "Link job test set" in made
    (schedule,) = harness.store.schedules(scope=EVERY_MEMBER)
    assert (schedule.set_id, schedule.cadence, schedule.created_by) == (seed.SETS["link_test"], "weekly mon 02:00",
                                                                       CATALOGER)
    listed = block_text(harness.command("schedules")[0].json())
    assert "Schedule 1" in listed and "weekly mon 02:00" in listed
    assert seed.SETS["link_test"] in listed and "Link job test set" in listed
    assert "Next run: Mon " in listed and "02:00" in listed
    assert "Last result: not run yet" in listed
    assert "Times are in UTC" in listed
    _, name = harness.command("unschedule 1")
    assert "Schedule 1 is removed" in block_text(harness.response(name).args)
    assert harness.store.schedules(scope=EVERY_MEMBER) == []
    assert "No schedules yet" in block_text(harness.command("schedules")[0].json())


MALFORMED = [
    ("schedule {set} daily 25:99", "not a time of day"),
    ("schedule {set} daily 2pm", "not a time of day"),
    ("schedule {set} weekly funday 02:00", "not a day of the week"),
    ("schedule {set} weekly 02:00", "needs a day"),
    ("schedule daily 02:00", "which set"),
    ("schedule {set} daily 02:00 tomorrow", "say when it runs"),
    ("schedule {set}", "say when it runs"),
    ("schedule", "say when it runs"),
    ("unschedule", "needs the number of one schedule"),
    ("unschedule 1 2", "needs the number of one schedule"),
    ("unschedule one", "needs the number of one schedule"),
    ("schedules all", "takes nothing after it"),
]


@pytest.mark.parametrize("text,words", MALFORMED, ids=[t for t, _ in MALFORMED])
def test_a_malformed_schedule_is_refused_plainly_and_nothing_is_kept(harness, text, words):
    harness.start()
    answer, _ = harness.command(text.format(set=seed.SETS["link_test"]))
    said = block_text(answer.json())
    assert words in said.lower(), said
    assert "/nz schedule" in said  # the usage lines
    assert harness.store.schedules(scope=EVERY_MEMBER) == []


@pytest.mark.parametrize("set_key,words", [("missing", "no set named"), ("items", "not bib records")])
def test_a_set_that_cannot_be_linked_is_refused_when_the_schedule_is_made(harness, set_key, words):
    harness.start()
    set_ref = seed.SETS.get(set_key, "No such set")
    _, name = harness.command(f"schedule {set_ref} daily 02:00")
    assert words in block_text(harness.response(name).args).lower()
    assert harness.store.schedules(scope=EVERY_MEMBER) == []


def test_another_members_schedule_cannot_be_removed(two):
    _, name = two.command(f"schedule {seed.SETS['link_test']} daily 02:00", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert "schedule 1, daily 02:00" in block_text(two.response(name).args)
    answer, _ = two.command("unschedule 1", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    assert "belongs to another member institution" in block_text(answer.json())
    (kept,) = two.bot.services.store.schedules(scope=EVERY_MEMBER)
    assert kept.institution == "01SIM_UO"
    assert "No schedules yet" in block_text(two.command("schedules", user=OSU_CATALOGER, channel=OSU_CHANNEL)[0].json())
    refused = [r for r in two.bot.services.store.audit_rows() if r["action"] == "/nz unschedule"]
    assert [r["outcome"] for r in refused] == ["refused: not theirs"]
    _, name = two.command("unschedule 1", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert "is removed" in block_text(two.response(name).args)


# --------------------------------------------------------------------------- the runs


def test_a_run_missed_within_the_grace_runs_once(harness):
    made_earlier(harness.db_path, hours_ago=3, due_hours_ago=1, set_id=seed.SETS["link_test"])
    harness.start()
    job = harness.wait(lambda: next(iter(harness.store.link_jobs()), None), what="the scheduled link job")
    assert job.set_id == seed.SETS["link_test"] and job.requested_by == CATALOGER
    assert job.scheduled and job.scheduled.startswith("schedule 1, daily ")
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the run reported")
    (start,) = [m for m in harness.stub.messages(REPORT) if not m.get("thread_ts")]
    assert f"Scheduled: {job.scheduled}" in block_text(start)
    time.sleep(1.0)  # several rounds: still one run
    assert len(harness.store.link_jobs()) == 1 and len(harness.sim.state.runs) == 1
    assert schedule_notes(harness.stub) == []
    listed = block_text(harness.command("schedules")[0].json())
    assert f"link job {job.id}, done" in listed


def test_a_run_missed_beyond_the_grace_is_skipped_and_said_once(harness):
    made_earlier(harness.db_path, hours_ago=20, due_hours_ago=8, set_id=seed.SETS["link_test"])
    harness.start()
    harness.wait(lambda: schedule_notes(harness.stub), what="the skipped run said")
    time.sleep(1.0)  # several rounds: said once
    (note,) = schedule_notes(harness.stub)
    said = block_text(note)
    assert "skipped" in said and "schedule 1, daily" in said and "more than 6 hours late" in said
    assert harness.store.link_jobs() == [] and harness.sim.state.runs == {}
    assert "skipped" in block_text(harness.command("schedules")[0].json())


def test_a_run_whose_previous_run_is_still_going_is_skipped_and_said_once(harness):
    harness.sim.job_seconds = 30.0
    harness.start()
    _, name = harness.command(f"link {seed.SETS['link_test']}")
    harness.response(name)
    harness.wait(lambda: harness.store.link_jobs("running"), what="the first run going")
    made_earlier(harness.db_path, hours_ago=3, due_hours_ago=1, set_id=seed.SETS["link_test"])
    harness.wait(lambda: schedule_notes(harness.stub), what="the skipped run said")
    time.sleep(1.0)
    (note,) = schedule_notes(harness.stub)
    assert "previous run on this set is still going" in block_text(note)
    assert len(harness.store.link_jobs()) == 1 and len(harness.sim.state.runs) == 1


def test_a_run_waits_while_the_quota_is_spent_then_runs(harness):
    harness.start()
    harness.sim.state.quota_remaining = 0
    made_earlier(harness.db_path, hours_ago=3, due_hours_ago=1, set_id=seed.SETS["link_test"])
    harness.wait(lambda: schedule_notes(harness.stub), what="the waiting run said")
    time.sleep(1.0)  # several rounds: said once, nothing requested
    (note,) = schedule_notes(harness.stub)
    assert "waiting" in block_text(note).lower()
    assert harness.store.link_jobs() == []
    harness.sim.state.quota_remaining = 500_000  # Alma's day turns; a person's call is the first answered
    harness.response(harness.command(f"preview {seed.SETS['link_test']}")[1])  # background asks hourly, else
    job = harness.wait(lambda: next(iter(harness.store.link_jobs()), None), what="the run once Alma allows")
    assert job.scheduled.startswith("schedule 1")
    assert len(schedule_notes(harness.stub)) == 1


def test_a_schedule_fires_after_a_kill_9_and_a_restart_before_its_time(sim, bot):  # noqa: F811
    """Made through Slack, the process killed, a new one started before the time: the run
    happens once, at its time, in NZBOT_TIMEZONE (Kolkata, UTC+05:30)."""
    zone = "Asia/Kolkata"
    bot.env["NZBOT_TIMEZONE"] = zone
    bot.start()
    now = datetime.now(timezone.utc)
    due = (now + timedelta(minutes=1 if now.second < 45 else 2)).replace(second=0, microsecond=0)
    answer, name = bot.command(f"schedule {seed.SETS['link_test']} daily {hh_mm(due, zone)}")
    assert answer.status_code == 200
    made = block_text(bot.stub.wait_for("response_url", lambda c: c.name == name, timeout=15).args)
    assert f"daily {hh_mm(due, zone)}" in made and zone in made
    bot.kill()
    assert datetime.now(timezone.utc) < due
    bot.start()
    assert bot.store.link_jobs() == []
    wait_until(lambda: bot.store.link_jobs("reported"), timeout=(due - datetime.now(timezone.utc)).seconds + 30,
               what="the scheduled run, reported")
    started = datetime.fromisoformat(bot.store.link_jobs()[0].created_at)
    assert started >= due
    time.sleep(1.0)
    (job,) = bot.store.link_jobs()
    assert job.scheduled == f"schedule 1, daily {hh_mm(due, zone)}"
    assert len(sim.state.runs) == 1
