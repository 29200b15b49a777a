"""`nzbot doctor` in consortium mode: each member institution's key, link job, report
channel and quota on lines beginning with its code, and the shared checks once."""

from __future__ import annotations

import pytest

from alma.simulator import consortium, member_key
from tests.conftest import API_KEY
from tests.nzbot.test_doctor import BOT_TOKEN, ENV_NAMES, PM, SIGNING_SECRET, Doctor, make_stub

OSU_REPORT = "COSUREPT1"
CONFIG = """
[[institution]]
code = "01SIM_UO"
name = "University of Oregon"
api_key_env = "ALMA_API_KEY_UO"
channels = ["CREPORT01"]

[[institution]]
code = "01SIM_OSU"
name = "Oregon State University"
api_key_env = "ALMA_API_KEY_OSU"
channels = ["{osu_report}"]
"""


@pytest.fixture
def doctor(tmp_path, monkeypatch, capsys):
    with consortium(2, api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = make_stub().start()
        for name in ENV_NAMES + ("NZBOT_CONFIG",):
            monkeypatch.delenv(name, raising=False)
        d = Doctor(sim, stub, tmp_path, monkeypatch, capsys)
        config = tmp_path / "consortium.toml"
        config.write_text(CONFIG.replace("{osu_report}", OSU_REPORT))
        d.set(ALMA_API_KEY_UO=API_KEY, ALMA_API_KEY_OSU=member_key(API_KEY, 2), NZBOT_CONFIG=str(config),
              ALMA_API_URL=sim.base_url, ALMA_NZ_SRU_URL=sim.sru_url, ALMA_TIMEOUT="5",
              SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=stub.api_url,
              NZBOT_PM_USERS=PM, NZBOT_DB=str(tmp_path / "nzbot.db"))
        try:
            yield d
        finally:
            stub.stop()


def test_each_member_is_checked_on_lines_beginning_with_its_code(doctor):
    doctor.stub.add_channel(OSU_REPORT, name="osu-nz", members=["UNZBOT001"])
    code, lines, everything = doctor.run()
    assert code == 0, "\n".join(lines)
    for member in ("01SIM_UO", "01SIM_OSU"):
        mine = [line for line in lines if line.startswith(member + " ")]
        assert [line.split(":")[0] for line in mine] == [
            f"{member} ok   Alma API key", f"{member} ok   Link job", f"{member} ok   Report channel",
            f"{member} ok   Alma daily quota"], "\n".join(lines)
    shared = [line for line in lines if not line.startswith("01SIM_")]
    assert [line.split(":")[0] for line in shared] == [
        "ok   NZ SRU search", "ok   NZ API key", "ok   Slack token", f"ok   PM user {PM}", "ok   Database",
        *["ok   Alma fact"] * 5]  # the network's facts, shared by every member
    assert API_KEY not in everything and member_key(API_KEY, 2) not in everything


def test_one_members_problems_are_its_own_lines(doctor):
    doctor.set(ALMA_API_KEY_OSU="a-key-alma-does-not-know")  # and its report channel does not exist
    code, lines, everything = doctor.run()
    assert code == 1
    osu = {line.split(":")[0] for line in lines if line.startswith("01SIM_OSU ")}
    assert "01SIM_OSU FAIL Alma API key" in osu and "01SIM_OSU FAIL Report channel" in osu
    assert all(" ok " in line.replace("ok   ", " ok ") for line in lines if line.startswith("01SIM_UO "))
    assert "a-key-alma-does-not-know" not in everything


def test_a_broken_file_is_named_and_no_member_is_checked(doctor):
    config = doctor.tmp_path / "consortium.toml"
    config.write_text(CONFIG.replace("{osu_report}", "CREPORT01"))
    code, lines, _ = doctor.run()
    assert code == 2
    assert lines[0] == (f"FAIL Settings: NZBOT_CONFIG {config}: institution 01SIM_OSU: channel CREPORT01 is "
                        "also claimed by 01SIM_UO; a channel belongs to one member.")
    assert "FAIL Institutions: not checked: fix NZBOT_CONFIG first (see above)." in lines
    assert not [line for line in lines if line.startswith("01SIM_") or "Alma API key" in line]


def test_work_from_before_consortium_mode_fails_the_database_check_with_the_command_to_run(doctor):
    from nzbot.store import Store

    db = doctor.tmp_path / "nzbot.db"
    Store(str(db)).add_link_job(set_id="1", set_name="before", set_size=1, requested_by="U1", channel="C1",
                                state="running")  # written by the single-institution bot
    doctor.stub.add_channel(OSU_REPORT, name="osu-nz", members=["UNZBOT001"])
    code, lines, _ = doctor.run()
    assert code == 1
    database = [line for line in lines if line.split(":")[0].endswith("Database")]
    assert database == [f"FAIL Database: NZBOT_DB {db} holds 1 link job from before consortium mode, of no "
                        "member yet: give them to the member whose IZ they came from with "
                        "`nzbot adopt CODE` (01SIM_UO, 01SIM_OSU), then start nzbot again."]


def test_rows_of_a_code_no_longer_configured_are_a_warning(doctor):
    from nzbot.store import Store

    db = doctor.tmp_path / "nzbot.db"
    Store(str(db)).for_institution("01SIM_GONE").audit("nzbot", "case_opened", "record 1", "open")
    doctor.stub.add_channel(OSU_REPORT, name="osu-nz", members=["UNZBOT001"])
    code, lines, _ = doctor.run()
    assert code == 0, "\n".join(lines)
    assert [line.split(":")[0] for line in lines if "Database" in line.split(":")[0]] == [
        "ok   Database", "warn Database"]
    assert ("holds 1 audit line of institution 01SIM_GONE, which is not a member here: they are kept, but "
            "nothing acts on them (`nzbot adopt --from 01SIM_GONE CODE`") in "\n".join(lines)
