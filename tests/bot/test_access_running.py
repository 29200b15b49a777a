"""What the access review found, each tried against a real `nzbot run` in consortium mode
(two members sharing one NZ), over HTTP as Slack sends it:

1. Previous/Next on /nz cases listed every member's cases, in any member's channel;
2. a case's candidate-page buttons showed any member's case to anyone;
3. /nz cases csv in a member's channel exported every member's decisions;
4. the Home tab showed the Program Manager's queue to anyone who opened it;
5. a second `nzbot run` on the same NZBOT_DB started too (reports posted twice);
6. api_key_env could name a Slack setting (a secret sent to Alma as a key);
7. a NZBOT_DB that is not SQLite gave a traceback;
and a database file deleted or replaced under the running bot went unnoticed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from alma.cards import RecordCard
from alma.simulator import consortium, member_key
from bot import action_ids as A
from tests.slack.faults import SlackStub
from bot.demo.slack_requests import JSON, post_signed
from nzbot.store import Store
from tests.bot.conftest import block_text
from tests.bot.subprocess_bot import BOT_TOKEN, PM, SECRET, SubprocessBot, free_port, wait_until
from tests.conftest import API_KEY
from tests.nzbot.test_doctor_consortium import CONFIG as MEMBERS

UO, OSU = "01SIM_UO", "01SIM_OSU"
UO_CHANNEL, OSU_CHANNEL, STRAY = "CUOCAT001", "COSUCAT01", "CRANDOM01"
UO_CATALOGER, OSU_CATALOGER, STRANGER = "UUOCATLG1", "UOSUCATL1", "USTRANGR1"
# the doctor's two members, in the channels of this module; OSU's key variable set per test
CONFIG = (MEMBERS.replace('"CREPORT01"', f'"{UO_CHANNEL}"').replace("{osu_report}", OSU_CHANNEL)
          .replace('"ALMA_API_KEY_OSU"', '"{osu_key_env}"'))


class Members:
    def __init__(self, sim, stub, tmp_path, osu_key_env: str = "ALMA_API_KEY_OSU") -> None:
        config = tmp_path / "consortium.toml"
        config.write_text(CONFIG.replace("{osu_key_env}", osu_key_env))
        self.bot = SubprocessBot(sim, stub, tmp_path, extra_env={
            "NZBOT_CONFIG": str(config), "ALMA_API_KEY_UO": API_KEY,
            "ALMA_API_KEY_OSU": member_key(API_KEY, 2)})
        for name in ("ALMA_API_KEY", "NZBOT_REPORT_CHANNEL"):
            self.bot.env.pop(name)
        self.stub = stub

    def open_cases(self, code: str, *titles: str) -> list:
        """Cases of member `code`, as a re-check would have opened them."""
        store = Store(str(self.bot.db_path)).for_institution(code)
        try:
            return [store.open_case(f"99{n:04d}{len(titles)}{ord(code[-1])}", title,
                                    [RecordCard(mms_id=f"991{n}0001", title=title),
                                     RecordCard(mms_id=f"991{n}0002", title=title)], None,
                                    RecordCard(mms_id=f"99{n:04d}", title=title))
                    for n, title in enumerate(titles, start=1)]
        finally:
            store.close()

    def said(self, name: str) -> str:
        return block_text(self.stub.wait_for("response_url", lambda c: c.name == name, timeout=10).args)


@pytest.fixture
def members(tmp_path):
    with consortium(2, api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = SlackStub(
            bot_token=BOT_TOKEN,
            users={UO_CATALOGER: {"name": "uo.cataloger"}, OSU_CATALOGER: {"name": "osu.cataloger"},
                   PM: {"name": "program.manager"}, STRANGER: {"name": "someone"}},
            channels={UO_CHANNEL: {"name": "uo-nz"}, OSU_CHANNEL: {"name": "osu-nz"}, STRAY: {"name": "random"}},
        ).start()
        m = Members(sim, stub, tmp_path)
        try:
            yield m
        finally:
            m.bot.stop()
            stub.stop()


UO_TITLES = ("Uo private title one", "Uo private title two")
OSU_TITLES = ("Osu own title",)


def test_1_the_cases_pages_list_only_the_channels_members_cases(members):
    members.open_cases(UO, *UO_TITLES)
    members.open_cases(OSU, *OSU_TITLES)
    bot = members.bot.start()
    _, name = bot.click(A.suffixed(A.CASES_PAGE, "next"), "1", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    page = members.said(name)
    assert OSU_TITLES[0] in page and not any(t in page for t in UO_TITLES)
    _, name = bot.click(A.suffixed(A.CASES_PAGE, "next"), "1", user=STRANGER, channel=STRAY)
    refused = members.said(name)
    assert "not linked to an institution" in refused and OSU_TITLES[0] not in refused
    _, name = bot.click(A.suffixed(A.CASES_PAGE, "next"), "1", user=PM, channel="DPROGMGR1")
    whole = members.said(name)  # the Program Manager, in their DM: every member's
    assert all(t in whole for t in UO_TITLES + OSU_TITLES)


def test_2_a_case_of_another_member_is_never_shown_by_its_page_buttons(members):
    uo_case = members.open_cases(UO, *UO_TITLES)[0]
    osu_case = members.open_cases(OSU, *OSU_TITLES)[0]
    bot = members.bot.start()
    for user, channel in ((OSU_CATALOGER, OSU_CHANNEL), (STRANGER, STRAY)):
        _, name = bot.click(A.suffixed(A.CASE_PAGE, "next"), f"{uo_case.id}:1", user=user, channel=channel)
        answer = members.said(name)
        assert UO_TITLES[0] not in answer and uo_case.iz_mms_id not in answer
        assert "another member institution" in answer or "not linked to an institution" in answer
    _, name = bot.click(A.suffixed(A.CASE_PAGE, "next"), f"{osu_case.id}:1", user=OSU_CATALOGER,
                        channel=OSU_CHANNEL)
    assert OSU_TITLES[0] in members.said(name)  # its own member's case: shown


def test_3_the_csv_in_a_members_channel_holds_only_its_cases(members):
    members.open_cases(UO, *UO_TITLES)
    members.open_cases(OSU, *OSU_TITLES)
    bot = members.bot.start()
    _, name = bot.command("cases csv", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    csv_text = members.said(name)
    assert OSU_TITLES[0] in csv_text and OSU in csv_text
    assert not any(t in csv_text for t in UO_TITLES) and UO not in csv_text
    _, name = bot.command("cases csv", user=PM, channel="DPROGMGR1")
    assert all(t in members.said(name) for t in UO_TITLES + OSU_TITLES)


def home_opened(bot: SubprocessBot, user: str):
    body = json.dumps({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A_NZBOT", "token": "verification-token",
        "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": "home",
                  "event_ts": f"{time.time():.6f}"},
    })
    return post_signed(bot.url, body, bot.secret, content_type=JSON)


def test_4_the_home_tab_shows_the_queue_only_to_the_program_manager(members):
    members.open_cases(UO, *UO_TITLES)
    bot = members.bot.start()
    for user in (UO_CATALOGER, STRANGER, PM):
        assert home_opened(bot, user).status_code == 200
    views = {user: block_text(members.stub.wait_for("views.publish", lambda c, u=user: c.args.get("user_id") == u)
                              .args["view"]) for user in (UO_CATALOGER, STRANGER, PM)}
    for user in (UO_CATALOGER, STRANGER):
        assert "only the Program Manager sees" in views[user]
        assert "waiting for a decision" not in views[user] and "Review next" not in views[user]
    assert "2 cases waiting for a decision" in views[PM]


def test_5_a_second_bot_on_the_same_database_stops_at_start_up(members):
    first = members.bot.start()
    env = {**first.env, "PORT": str(free_port())}
    second = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=str(first.workdir),
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert second.returncode != 0
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, second.stderr
    assert f"NZBOT_DB={first.db_path}" in lines[0] and f"process {first.proc.pid}" in lines[0]
    assert "another nzbot is running on this database" in lines[0]
    answer, _ = first.command("jobs", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert "link job" in block_text(answer.json()).lower()  # the first bot carries on
    first.kill()  # kill -9: the kernel lets the lock go with the process
    first.start()


@pytest.mark.parametrize("setting", ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "NZBOT_DB", "ALMA_NZ_API_KEY"])
def test_6_api_key_env_may_not_name_a_setting_nzbot_reads(sim, tmp_path, setting):
    stub = SlackStub(bot_token=BOT_TOKEN).start()
    try:
        m = Members(sim, stub, tmp_path, osu_key_env=setting)
        m.bot.env.setdefault("ALMA_NZ_API_KEY", "nz-key-0123456789")
        done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=m.bot.env, capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)
    finally:
        stub.stop()
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"institution {OSU}" in lines[0] and f"api_key_env names {setting}" in lines[0]
    assert SECRET not in done.stderr and "Traceback" not in done.stderr
    assert not any("/almaws/" in call for call in sim.calls), "nothing was sent to Alma"


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x07" * 4000, b"name,title\n1,x\n" * 300],
                         ids=["damaged", "a csv"])
def test_7_a_database_file_that_is_not_sqlite_is_one_line(members, content):
    members.bot.db_path.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=members.bot.env, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=str(members.bot.workdir))
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"nzbot: NZBOT_DB={members.bot.db_path} is not a usable SQLite database")
    assert members.bot.db_path.read_bytes() == content, "the file is left as it was"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_file_gone_under_the_running_bot_is_noticed(members, tmp_path, how):
    bot = members.bot.start()
    answer, _ = bot.command("jobs", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert "link job" in block_text(answer.json()).lower()
    if how == "deleted":
        os.remove(bot.db_path)
    else:  # a copy put in its place (a restore over a running bot)
        shutil.copy(bot.db_path, tmp_path / "copy.db")
        os.replace(tmp_path / "copy.db", bot.db_path)
    wait_until(lambda: "lost its database file" in bot.log(), timeout=10, what="the bot noticing")
    answer, name = bot.command("link Some set", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert "lost its database file" in block_text(answer.json())
    time.sleep(1.0)  # several rounds
    assert bot.log().count("lost its database file") == 1, bot.log()
    assert f"the file was {how}" in bot.log()
    assert not any("POST /almaws/v1/conf/jobs" in call for call in bot.sim.calls), "no link job started"
