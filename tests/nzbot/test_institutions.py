"""NZBOT_CONFIG: the member institutions from a TOML file; every mistake stops start-up
with one line naming the file, the institution and the problem."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from alma.config import SettingErrors
from nzbot import redaction
from nzbot.settings import BotSettings
from nzbot.store import Store

GOOD = """
[[institution]]
code = "01ALLIANCE_UO"
name = "University of Oregon"
api_key_env = "ALMA_API_KEY_UO"
channels = ["C0UOCAT", "C0UOTWO"]

[[institution]]
code = "01ALLIANCE_OSU"
name = "Oregon State University"
api_key_env = "ALMA_API_KEY_OSU"
channels = ["C0OSUCAT"]
allowed_users = ["U0OSU1"]
"""
BASE = {"SLACK_BOT_TOKEN": "xoxb-test-token-1234", "SLACK_SIGNING_SECRET": "signing-secret-1234",
        "NZBOT_PM_USERS": "UPROGMGR1", "ALMA_NZ_SRU_URL": "https://example.org/view/sru/01ALLIANCE_NETWORK",
        "ALMA_API_KEY_UO": "uo-key-0123456789",
        "ALMA_API_KEY_OSU": "osu-key-0123456789"}


def env_with(tmp_path, text: str, **more) -> dict:
    path = tmp_path / "consortium.toml"
    path.write_text(text)
    return {**BASE, "NZBOT_CONFIG": str(path), **more}


def problem_of(env: dict) -> str:
    with pytest.raises(SettingErrors) as raised:
        BotSettings.from_env(env)
    lines = str(raised.value).splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_members_are_read_and_alma_api_key_and_report_channel_are_not_needed(tmp_path):
    settings = BotSettings.from_env(env_with(tmp_path, GOOD))
    uo, osu = settings.institutions
    assert (uo.code, uo.name, uo.report_channel, uo.channels) == (
        "01ALLIANCE_UO", "University of Oregon", "C0UOCAT", ("C0UOCAT", "C0UOTWO"))
    assert uo.alma.api_key == "uo-key-0123456789" and osu.alma.api_key == "osu-key-0123456789"
    assert osu.may_start_jobs("U0OSU1", "C0OSUCAT") and not osu.may_start_jobs("U0OTHER", "C0OSUCAT")
    assert uo.may_start_jobs("U0ANY", "C0UOTWO") and not uo.may_start_jobs("U0ANY", "C0OSUCAT")
    # the member keys are secrets: scrubbed from every message and log line from now on
    assert redaction.redact("key osu-key-0123456789 leaked") == "key [redacted] leaked"


def test_without_nzbot_config_the_one_implicit_institution_is_todays_settings():
    settings = BotSettings.from_env({**BASE, "ALMA_API_KEY": "iz-key-0123456789",
                                     "NZBOT_REPORT_CHANNEL": "CREPORT01"})
    (only,) = settings.institutions
    assert only.implicit and only.code == "" and only.report_channel == "CREPORT01"
    assert only.alma.api_key == "iz-key-0123456789"
    assert only.may_start_jobs("UANY", "CREPORT01") and not only.may_start_jobs("UANY", "COTHER")


@pytest.mark.parametrize("text, expected", [
    ("[[institution]\ncode = 1", "not valid TOML"),
    (GOOD.replace('allowed_users = ["U0OSU1"]', 'allowed_users = ["U0OSU1"]\nreport_to = "C1"'),
     "institution 01ALLIANCE_OSU: unknown field 'report_to'"),
    (GOOD.replace('channels = ["C0OSUCAT"]', 'channels = ["C0UOTWO"]'),
     "institution 01ALLIANCE_OSU: channel C0UOTWO is also claimed by 01ALLIANCE_UO"),
    (GOOD.replace('"ALMA_API_KEY_OSU"', '"ALMA_API_KEY_NOWHERE"'),
     "institution 01ALLIANCE_OSU: ALMA_API_KEY_NOWHERE is not set"),
    (GOOD.replace('code = "01ALLIANCE_OSU"\n', ''), "institution #2: code is missing"),
    (GOOD.replace('channels = ["C0OSUCAT"]', 'channels = ["general"]'),
     "institution 01ALLIANCE_OSU: channels must hold channel ids"),
    ("", "no [[institution]] table"),
])
def test_a_mistake_stops_start_up_with_one_line_naming_file_institution_and_problem(tmp_path, text, expected):
    env = env_with(tmp_path, text)
    line = problem_of(env)
    assert line.startswith(f"NZBOT_CONFIG {env['NZBOT_CONFIG']}: ")
    assert expected in line


def test_the_same_key_for_two_members_is_refused_without_echoing_it(tmp_path):
    line = problem_of(env_with(tmp_path, GOOD, ALMA_API_KEY_OSU="uo-key-0123456789"))
    assert "institution 01ALLIANCE_OSU: ALMA_API_KEY_OSU holds the same key as 01ALLIANCE_UO's" in line
    assert "uo-key-0123456789" not in line


def test_a_missing_file_is_named(tmp_path):
    line = problem_of({**BASE, "NZBOT_CONFIG": str(tmp_path / "nowhere.toml")})
    assert line == f"NZBOT_CONFIG {tmp_path / 'nowhere.toml'}: no such file."


def test_nzbot_run_stops_with_the_line(tmp_path):
    env = env_with(tmp_path, GOOD.replace('channels = ["C0OSUCAT"]', 'channels = ["C0UOCAT"]'))
    run = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env={**env, "PATH": ""},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "institution 01ALLIANCE_OSU: channel C0UOCAT is also claimed by 01ALLIANCE_UO" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_existing_database_is_migrated_its_rows_belong_to_the_implicit_institution(tmp_path):
    path = str(tmp_path / "old.db")
    Store(path).add_link_job(set_id="1", set_name="s", set_size=1, requested_by="U1", channel="C1",
                             state="queued", job_id="M85", instance_id="123")
    # as a database from before consortium mode: no institution column, the migration not applied
    conn = sqlite3.connect(path)
    for table in ("link_jobs", "cases", "link_tokens", "audit"):
        conn.execute(f"DROP INDEX IF EXISTS idx_{table}_institution")
        conn.execute(f"DROP INDEX IF EXISTS idx_{table}_institution_state")
    conn.execute("DROP INDEX idx_link_jobs_institution_job_id_instance_id")
    for table in ("link_jobs", "cases", "link_tokens", "audit"):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN institution")
    conn.execute("CREATE UNIQUE INDEX idx_link_jobs_job_id_instance_id ON link_jobs (job_id, instance_id)")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name IN ('m_institutions', 'm_institution_state')")
    conn.commit()
    conn.close()
    store = Store(path)
    assert [j.institution for j in store.link_jobs()] == [""]
    assert [j.set_id for j in store.for_institution("").link_jobs()] == ["1"]
    uo = store.for_institution("01ALLIANCE_UO")
    assert uo.link_jobs() == []
    # the same run id in another IZ is another row, seen by that member only
    uo.add_link_job(set_id="2", set_name="t", set_size=1, requested_by="U1", channel="C1", state="running",
                    job_id="M85", instance_id="123")
    assert uo.link_job_for_instance("M85", "123").set_id == "2"
    assert store.for_institution("").link_job_for_instance("M85", "123").set_id == "1"
    assert [j.institution for j in store.link_jobs()] == ["", "01ALLIANCE_UO"]


def test_a_members_reads_by_state_use_one_index_on_both(tmp_path):
    """Not the index on institution alone, with which SQLite walks every row of the member
    to find its few deciding cases (the idle bot over 110,000 cases: bench/linkflow.py)."""
    store = Store(str(tmp_path / "nzbot.db")).for_institution("01ALLIANCE_UO")
    for table, where in (("cases", "state IN (?)"), ("link_jobs", "state IN (?)"), ("link_tokens", "state IN (?)")):
        sql, args = store._mine(where, ["deciding"])
        plan = " ".join(row[-1] for row in store.db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {sql}", args))
        assert f"USING INDEX idx_{table}_institution_state (institution=? AND state=?)" in plan, plan
