"""`nzbot doctor` against a real Alma simulator and the Slack Web API stub, configured
only through the environment, as a systems librarian would run it."""

from __future__ import annotations

import os

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from alma.simulator import Simulator, seed
from bot.cli import main
from tests.slack.faults import SlackStub
from tests.conftest import API_KEY

BOT_TOKEN = "xoxb-doctor-test-token-4f1c"
SIGNING_SECRET = "doctor-signing-secret-9a7e"
BOT_USER = "UNZBOT001"
REPORT = "CREPORT01"
PM = "UPROGMGR1"
PM_2 = "UPROGMGR2"

# Anything the environment may already hold that would change what the doctor sees.
ENV_NAMES = (
    "ALMA_API_KEY", "ALMA_API_URL", "ALMA_NZ_SRU_URL", "ALMA_SRU_OCLC_INDEX", "ALMA_LINK_JOB_ID",
    "ALMA_REQUESTS_PER_SECOND", "ALMA_TIMEOUT", "ALMA_MAX_RETRIES", "ALMA_QUOTA_FLOOR",
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT",
    "NZBOT_REPORT_CHANNEL", "NZBOT_PM_USERS", "NZBOT_PM_CHANNEL", "NZBOT_ALLOWED_CHANNELS",
    "NZBOT_ALLOWED_USERS", "NZBOT_DB", "NZBOT_POLL_SECONDS", "NZBOT_DISCOVER_SECONDS",
    "ALMA_NZ_API_KEY", "NZBOT_LINK_TOKEN_PREFIX",
)


@dataclass
class Doctor:
    sim: Simulator
    stub: SlackStub
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture

    def set(self, **values: str) -> None:
        for name, value in values.items():
            self.monkeypatch.setenv(name, value)

    def unset(self, *names: str) -> None:
        for name in names:
            self.monkeypatch.delenv(name, raising=False)

    def run(self) -> tuple[int, list[str], str]:
        """Exit status, the lines printed, and everything printed (stdout and stderr)."""
        self.capsys.readouterr()
        code = main(["doctor"])
        captured = self.capsys.readouterr()
        return code, captured.out.splitlines(), captured.out + captured.err


@pytest.fixture
def closed_port():
    """A port nothing listens on, for the whole test: bound but never listening, so a
    connection is refused, and no other xdist worker can be given it meanwhile (a port
    let go at once could be taken by another worker's server before the doctor tries it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def line_for(lines: list[str], name: str) -> str:
    found = [line for line in lines if line[5:].startswith(name)]
    assert len(found) == 1, f"expected one line for {name!r} in:\n" + "\n".join(lines)
    return found[0]


def make_stub(*, bot_in_channel: bool = True) -> SlackStub:
    members = [BOT_USER, PM] if bot_in_channel else [PM]
    return SlackStub(
        bot_token=BOT_TOKEN,
        bot_user_id=BOT_USER,
        users={PM: {"name": "program.manager", "real_name": "Pat Manager"},
               PM_2: {"name": "deputy.pm"}},
        channels={REPORT: {"name": "nz-report", "members": members}},
    )


@pytest.fixture
def doctor(tmp_path, monkeypatch, capsys):
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = make_stub().start()
        for name in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
        d = Doctor(sim, stub, tmp_path, monkeypatch, capsys)
        d.set(
            ALMA_API_KEY=API_KEY,
            ALMA_API_URL=sim.base_url,
            ALMA_NZ_SRU_URL=sim.sru_url,
            ALMA_TIMEOUT="5",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=stub.api_url,
            NZBOT_REPORT_CHANNEL=REPORT,
            NZBOT_PM_USERS=f"{PM},{PM_2}",
            NZBOT_DB=str(tmp_path / "nzbot.db"),
        )
        try:
            yield d
        finally:
            stub.stop()


EXPECTED_CHECKS = ("Alma API key", "Link job", "NZ SRU search", "NZ API key", "Slack token", "Report channel",
                   f"PM user {PM}", f"PM user {PM_2}", "Database", *["Alma fact"] * 5, "Alma daily quota")


def test_healthy_configuration_passes_every_check(doctor):
    code, lines, _ = doctor.run()
    assert code == 0, "\n".join(lines)
    assert len(lines) == len(EXPECTED_CHECKS)
    for line, name in zip(lines, EXPECTED_CHECKS):
        assert line.startswith(f"ok   {name}: "), line
    assert f"127.0.0.1:{doctor.sim.port}" in line_for(lines, "Alma API key")
    # a new database: every fact still assumed, none confirmed by a probe
    assert all("assumed" in line and "nzbot probe --sandbox" in line for line in lines if "Alma fact" in line)
    assert "M85 'Link a set of records to the Network Zone' (found by name)" in line_for(lines, "Link job")
    assert "network zone 01SIM_NETWORK" in line_for(lines, "NZ SRU search")
    assert "alma.oclc_control_number_035_az" in line_for(lines, "NZ SRU search")
    assert f"@nzbot ({BOT_USER})" in line_for(lines, "Slack token")
    assert "#nz-report (CREPORT01), the bot is a member" in line_for(lines, "Report channel")
    assert "@program.manager (Pat Manager)" in line_for(lines, f"PM user {PM}")
    assert "calls left today" in line_for(lines, "Alma daily quota")
    # It really asked Slack and Alma; the database, not there yet, is left for `nzbot run` to make.
    assert [c.args.get("channel") for c in doctor.stub.calls("conversations.info")] == [REPORT]
    assert {c.args.get("user") for c in doctor.stub.calls("users.info")} == {PM, PM_2}
    assert doctor.sim.calls["GET /almaws/v1/conf/jobs"] >= 1
    assert not (doctor.tmp_path / "nzbot.db").exists()


def test_without_an_nz_key_the_doctor_says_what_that_means(doctor):
    code, lines, _ = doctor.run()
    assert code == 0
    assert "not set (optional)" in line_for(lines, "NZ API key")
    assert "handed to the cataloger" in line_for(lines, "NZ API key")


def test_the_nz_key_reads_an_nz_record(doctor):
    doctor.set(ALMA_NZ_API_KEY=doctor.sim.nz_api_key)
    code, lines, everything = doctor.run()
    assert code == 0, "\n".join(lines)
    line = line_for(lines, "NZ API key")
    assert line.startswith("ok   NZ API key: reads NZ record 99"), line
    nz_id = line.split("reads NZ record ")[1].split()[0]
    assert nz_id in doctor.sim.state.nz
    assert doctor.sim.nz_api_key not in everything


def test_an_iz_key_given_as_the_nz_key_is_named_as_such(doctor):
    doctor.sim.other_iz_keys.add("another-iz-key-5e6f")
    doctor.set(ALMA_NZ_API_KEY="another-iz-key-5e6f")
    code, lines, everything = doctor.run()
    assert code == 1
    line = line_for(lines, "NZ API key")
    assert line.startswith("FAIL NZ API key: ") and "looks like an institution zone's key" in line
    assert "another-iz-key-5e6f" not in everything


def test_a_wrong_nz_key_is_refused(doctor):
    doctor.set(ALMA_NZ_API_KEY="no-such-key-9a8b")
    code, lines, everything = doctor.run()
    assert code == 1
    assert "refused ALMA_NZ_API_KEY" in line_for(lines, "NZ API key")
    assert "no-such-key-9a8b" not in everything


def test_the_nz_key_may_not_be_the_iz_key(doctor):
    doctor.set(ALMA_NZ_API_KEY=API_KEY)
    code, lines, _ = doctor.run()
    assert code == 2 and "ALMA_NZ_API_KEY is the same as ALMA_API_KEY" in lines[0]


@pytest.mark.parametrize("prefix", ["(OCoLC)", "(ocolc)", "(EXLNZ-01SIM_NETWORK)", "(EXLCZ)", "NZBOT", "(NZBOT",
                                    "(NZ BOT)", "(NZ)BOT)", "((NZBOT))", "(NZBOT)x", "(ÑZBOT)", "(NZ$aBOT)", "()"])
def test_a_bad_token_prefix_stops_start_up(doctor, prefix):
    """A prefix real identifiers use (OCLC numbers, the NZ's and the CZ's own MMS IDs) would
    let the link job match records by them; anything but `(name)` would not be a prefix."""
    doctor.set(NZBOT_LINK_TOKEN_PREFIX=prefix)
    code, lines, _ = doctor.run()
    assert code == 2 and "NZBOT_LINK_TOKEN_PREFIX" in lines[0]


def test_link_job_given_by_id_is_used(doctor):
    doctor.set(ALMA_LINK_JOB_ID="M85")
    code, lines, _ = doctor.run()
    assert code == 0
    assert "M85 'Link a set of records to the Network Zone' (from ALMA_LINK_JOB_ID)" in line_for(lines, "Link job")


def test_wrong_alma_key(doctor):
    doctor.set(ALMA_API_KEY="not-the-right-key-1234")
    code, lines, everything = doctor.run()
    assert code == 1
    key = line_for(lines, "Alma API key")
    assert key.startswith("FAIL Alma API key: ")
    assert "refused the key (HTTP 401)" in key and "ALMA_API_KEY" in key
    assert line_for(lines, "Link job").startswith("FAIL Link job: not checked")
    assert "not-the-right-key-1234" not in everything
    # Slack and the SRU search (public, no key) are still checked.
    assert line_for(lines, "Slack token").startswith("ok")
    assert line_for(lines, "NZ SRU search").startswith("ok")


def test_unreachable_alma(doctor, closed_port):
    dead = f"http://127.0.0.1:{closed_port}"
    doctor.set(ALMA_API_URL=dead, ALMA_NZ_SRU_URL=f"{dead}/view/sru/01SIM_NETWORK")
    code, lines, _ = doctor.run()
    assert code == 1
    alma = line_for(lines, "Alma API")
    assert alma.startswith("FAIL Alma API: cannot reach 127.0.0.1:")
    assert "the connection was refused" in alma and "ALMA_API_URL" in alma
    sru = line_for(lines, "NZ SRU search")
    assert sru.startswith("FAIL") and "no answer" in sru and "ALMA_NZ_SRU_URL" in sru
    # nothing answered: no quota line ("unknown" said nothing the line above does not)
    assert not [line for line in lines if "Alma daily quota" in line]


def test_wrong_link_job_id_says_which_id_to_use(doctor):
    doctor.set(ALMA_LINK_JOB_ID="M999")
    code, lines, _ = doctor.run()
    assert code == 1
    job = line_for(lines, "Link job")
    assert job.startswith("FAIL Link job: ALMA_LINK_JOB_ID=M999 is not a job in this Alma")
    assert "Set ALMA_LINK_JOB_ID=M85" in job
    assert all(line.startswith("ok") for line in lines if line is not job)


def test_link_job_id_of_another_job(doctor):
    doctor.set(ALMA_LINK_JOB_ID="M28")
    code, lines, _ = doctor.run()
    assert code == 1
    job = line_for(lines, "Link job")
    assert "ALMA_LINK_JOB_ID=M28 is 'Export Bibliographic Records'" in job
    assert "Set ALMA_LINK_JOB_ID=M85" in job


def test_unknown_sru_index(doctor):
    doctor.set(ALMA_SRU_OCLC_INDEX="alma.no_such_index")
    code, lines, _ = doctor.run()
    assert code == 1
    sru = line_for(lines, "NZ SRU search")
    assert sru.startswith("FAIL NZ SRU search: ")
    assert "alma.no_such_index" in sru and "ALMA_SRU_OCLC_INDEX" in sru
    assert doctor.sim.calls["GET /view/sru"] == 1


def test_wrong_sru_url(doctor):
    doctor.set(ALMA_NZ_SRU_URL=f"{doctor.sim.base_url}/view/sru/01WRONG_NETWORK")
    code, lines, _ = doctor.run()
    assert code == 1
    sru = line_for(lines, "NZ SRU search")
    assert "HTTP 404" in sru and "ALMA_NZ_SRU_URL" in sru


def test_missing_sru_url(doctor):
    """Every lookup needs it, so it is a settings problem, as `nzbot run` says at start-up."""
    doctor.unset("ALMA_NZ_SRU_URL")
    code, lines, _ = doctor.run()
    assert code == 2
    assert "FAIL Settings: ALMA_NZ_SRU_URL is not set: give your network zone's SRU address" in lines[0]
    assert "not checked: fix ALMA_NZ_SRU_URL first" in line_for(lines, "NZ SRU search")
    assert line_for(lines, "Alma API key").startswith("ok   ")  # the rest is still checked


def test_bad_slack_token(doctor):
    doctor.set(SLACK_BOT_TOKEN="xoxb-revoked-token-0000")
    code, lines, everything = doctor.run()
    assert code == 1
    token = line_for(lines, "Slack token")
    assert token.startswith("FAIL Slack token: Slack refused SLACK_BOT_TOKEN (invalid_auth)")
    assert line_for(lines, "Report channel").startswith("FAIL Report channel: CREPORT01 not checked")
    assert "xoxb-revoked-token-0000" not in everything
    assert line_for(lines, "Alma API key").startswith("ok")


@pytest.fixture
def socket_mode(doctor):
    from tests.slack.socket_mode import SocketModeSlack

    side = SocketModeSlack(doctor.stub, app_token="xapp-1-A0NZBOT-123-valid").start()
    try:
        yield side
    finally:
        side.stop()


def test_socket_modes_app_token_is_checked_and_nothing_is_connected(doctor, socket_mode):
    doctor.set(SLACK_APP_TOKEN="xapp-1-A0NZBOT-123-valid")
    code, lines, everything = doctor.run()
    assert code == 0, "\n".join(lines)
    assert line_for(lines, "Slack app token") == "ok   Slack app token: Slack opens Socket Mode connections for it"
    assert len(doctor.stub.calls("apps.connections.open")) == 1
    assert socket_mode.connections() == []  # the URL was asked for, never opened
    assert "xapp-1-A0NZBOT-123-valid" not in everything


def test_an_app_token_slack_refuses_fails_with_where_to_find_the_right_one(doctor, socket_mode):
    doctor.set(SLACK_APP_TOKEN="xapp-1-A0NZBOT-999-revoked")
    code, lines, everything = doctor.run()
    assert code == 1
    assert line_for(lines, "Slack app token") == (
        "FAIL Slack app token: Slack refused SLACK_APP_TOKEN (invalid_auth): give the app-level token "
        "(xapp-…) with connections:write, from Basic Information > App-Level Tokens.")
    assert line_for(lines, "Slack token").startswith("ok")  # the bot token is another matter
    assert "xapp-1-A0NZBOT-999-revoked" not in everything


def test_unreachable_slack(doctor, closed_port):
    doctor.set(SLACK_API_URL=f"http://127.0.0.1:{closed_port}/api/")
    code, lines, _ = doctor.run()
    assert code == 1
    slack = line_for(lines, "Slack API")
    assert slack.startswith("FAIL Slack API: cannot reach 127.0.0.1:") and "SLACK_API_URL" in slack


def test_bot_not_in_the_report_channel(doctor):
    doctor.stub.stop()
    doctor.stub = make_stub(bot_in_channel=False).start()
    doctor.set(SLACK_API_URL=doctor.stub.api_url)
    code, lines, _ = doctor.run()
    assert code == 1
    channel = line_for(lines, "Report channel")
    assert channel.startswith("FAIL Report channel: the bot is not a member of #nz-report (CREPORT01)")
    assert "invite the bot: /invite @nzbot in #nz-report" in channel


def test_unknown_report_channel(doctor):
    doctor.set(NZBOT_REPORT_CHANNEL="CNOSUCH01")
    code, lines, _ = doctor.run()
    assert code == 1
    channel = line_for(lines, "Report channel")
    assert "no channel CNOSUCH01" in channel and "NZBOT_REPORT_CHANNEL" in channel


def test_unknown_pm_user(doctor):
    doctor.set(NZBOT_PM_USERS=f"{PM},UNOBODY99")
    code, lines, _ = doctor.run()
    assert code == 1
    assert line_for(lines, f"PM user {PM}").startswith("ok")
    missing = line_for(lines, "PM user UNOBODY99")
    assert missing.startswith("FAIL PM user UNOBODY99: Slack has no user UNOBODY99")
    assert "NZBOT_PM_USERS" in missing
    assert [line for line in lines if line.startswith("FAIL")] == [missing]


def test_unwritable_database(doctor):
    blocker = doctor.tmp_path / "a-file"
    blocker.write_text("not a directory")
    doctor.set(NZBOT_DB=str(blocker / "nzbot.db"))
    code, lines, _ = doctor.run()
    assert code == 1
    db = line_for(lines, "Database")
    assert db.startswith(f"FAIL Database: cannot write {blocker / 'nzbot.db'}")
    assert "NZBOT_DB" in db
    assert [line for line in lines if line.startswith("FAIL")] == [db]


def test_a_database_that_is_not_sqlite_is_one_failed_line(doctor):
    not_sqlite = doctor.tmp_path / "notes.db"
    not_sqlite.write_text("these are notes, not a database\n" * 200)
    doctor.set(NZBOT_DB=str(not_sqlite))
    code, lines, printed = doctor.run()
    assert code == 1 and "Traceback" not in printed
    db = line_for(lines, "Database")
    assert db.startswith(f"FAIL Database: NZBOT_DB={not_sqlite} is not a usable SQLite database")
    assert not_sqlite.read_text().startswith("these are notes")


def test_the_doctor_names_a_bot_running_on_the_database(doctor):
    from nzbot.dblock import BotLock

    db_path = doctor.tmp_path / "nzbot.db"
    lock = BotLock(str(db_path))  # as `nzbot run` holds it
    try:
        code, lines, _ = doctor.run()
    finally:
        lock.release()
    running = [line for line in lines if line.startswith("warn Database") and "is running on" in line]
    assert len(running) == 1 and f"process {os.getpid()}" in running[0]
    assert "one bot per database" in running[0]
    _, lines, _ = doctor.run()  # released: said no more
    assert not [line for line in lines if "is running on" in line]


def test_database_probe_leaves_no_row(doctor):
    from nzbot.store import Store

    Store(str(doctor.tmp_path / "nzbot.db")).close()  # the probe writes to a database that exists
    code, _, _ = doctor.run()
    assert code == 0
    import sqlite3

    conn = sqlite3.connect(doctor.tmp_path / "nzbot.db")
    try:
        rows = conn.execute("SELECT key FROM handled_requests WHERE key LIKE 'doctor:%'").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert rows == []
    assert {"link_jobs", "cases", "post_intents", "rechecks", "audit"} <= tables and "bot_state" not in tables


@pytest.mark.parametrize("name, words, skipped", [
    ("ALMA_API_KEY", "ALMA_API_KEY is not set", ("Alma API key", "Link job", )),
    ("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set", ("Slack token", "Report channel", "PM users")),
    ("NZBOT_PM_USERS", "NZBOT_PM_USERS is not set", ("PM users",)),
])
def test_a_missing_setting_fails_and_the_checks_it_allows_still_run(doctor, name, words, skipped):
    """Issue 11 item 10: the doctor used to stop at the first settings problem (one line,
    nothing tried); now it names it, then runs every check the other settings allow."""
    doctor.unset(name)
    code, lines, everything = doctor.run()
    assert code == 2
    settings_lines = [line for line in lines if line.startswith("FAIL Settings: ")]
    assert len(settings_lines) == 1 and words in settings_lines[0]
    for check in skipped:
        assert line_for(lines, check) == f"FAIL {check}: not checked: fix {name} first (see above)."
    assert line_for(lines, "Database").startswith("ok   Database")
    ran = [line for line in lines if line.startswith("ok   ")]
    assert len(ran) >= 3, lines  # the checks that did not need it ran
    if name == "ALMA_API_KEY":
        assert doctor.sim.calls.get("GET /almaws/v1/conf/jobs", 0) == 0  # no call without a key
    for secret in (API_KEY, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in everything


def test_malformed_setting(doctor):
    doctor.set(NZBOT_REPORT_CHANNEL="nz-report")
    code, lines, _ = doctor.run()
    assert code == 2
    assert lines[0] == ("FAIL Settings: NZBOT_REPORT_CHANNEL must hold a channel id such as C0123ABCD; "
                        "'nz-report' is not one.")
    assert line_for(lines, "Report channel") == (
        "FAIL Report channel: not checked: fix NZBOT_REPORT_CHANNEL first (see above).")
    assert line_for(lines, "Alma API key").startswith("ok   ")


def test_every_settings_problem_is_listed_in_one_run(doctor):
    """Six problems, one run: each named on its own line, then every check still possible."""
    doctor.unset("ALMA_NZ_SRU_URL", "NZBOT_REPORT_CHANNEL")
    doctor.set(SLACK_BOT_TOKEN="xoxp-a-user-token-123", NZBOT_PM_USERS="pat", ALMA_TIMEOUT="soon",
               PORT="http")
    code, lines, everything = doctor.run()
    assert code == 2
    problems = [line.removeprefix("FAIL Settings: ") for line in lines if line.startswith("FAIL Settings: ")]
    named = [p.split(" ", 1)[0] for p in problems]
    assert named == ["ALMA_TIMEOUT", "ALMA_NZ_SRU_URL", "SLACK_BOT_TOKEN", "NZBOT_REPORT_CHANNEL", "NZBOT_PM_USERS", "PORT"], problems
    assert line_for(lines, "Alma API key").startswith("ok   ")  # ALMA_TIMEOUT falls back to its default
    assert line_for(lines, "Link job").startswith("ok   ")
    assert "not checked: fix ALMA_NZ_SRU_URL first" in line_for(lines, "NZ SRU search")
    assert "not checked: fix SLACK_BOT_TOKEN first" in line_for(lines, "Slack token")
    assert line_for(lines, "Database").startswith("ok   ")
    assert "xoxp-a-user-token-123" not in everything


def test_a_short_secret_is_refused_by_name_and_nothing_is_mangled(doctor):
    """Issue 11 item 9: a one-character key was accepted, and redaction then turned
    'API key' into 'API k[redacted]y'."""
    doctor.set(ALMA_API_KEY="e", SLACK_SIGNING_SECRET="a")
    code, lines, everything = doctor.run()
    assert code == 2
    problems = [line for line in lines if line.startswith("FAIL Settings: ")]
    assert [p.split(" ")[2] for p in problems] == ["ALMA_API_KEY", "SLACK_SIGNING_SECRET"]
    assert "too short (1 characters)" in problems[0]
    assert "[redacted]" not in everything and "API key" in everything


def test_low_quota_warns_but_passes(doctor):
    doctor.sim.state.quota_remaining = 1200
    code, lines, _ = doctor.run()
    assert code == 0
    quota = line_for(lines, "Alma daily quota")
    assert quota.startswith("warn Alma daily quota: ")
    assert "below ALMA_QUOTA_FLOOR (5,000)" in quota
    left = int(quota.split(": ", 1)[1].split(" calls", 1)[0].replace(",", ""))
    assert 1190 <= left < 1200  # what Alma reported after the doctor's own calls


def test_quota_floor_setting_is_respected(doctor):
    doctor.sim.state.quota_remaining = 1200
    doctor.set(ALMA_QUOTA_FLOOR="1000")
    code, lines, _ = doctor.run()
    assert code == 0
    assert line_for(lines, "Alma daily quota").startswith("ok   Alma daily quota: ")


def test_secrets_are_never_printed(doctor, closed_port):
    """Healthy and failing runs alike: no key, token or secret anywhere in the output."""
    app_token = "xapp-1-doctor-app-token-77"
    doctor.set(SLACK_APP_TOKEN=app_token)
    outputs = [doctor.run()[2]]
    doctor.set(ALMA_API_KEY="wrong-alma-key-5678", SLACK_BOT_TOKEN="xoxb-wrong-slack-token-42")
    outputs.append(doctor.run()[2])
    doctor.set(ALMA_API_URL=f"http://127.0.0.1:{closed_port}")
    outputs.append(doctor.run()[2])
    everything = "\n".join(outputs)
    assert "ok   Alma API key" in outputs[0] and "FAIL Alma API key" in outputs[1]
    for secret in (API_KEY, BOT_TOKEN, SIGNING_SECRET, app_token, "wrong-alma-key-5678",
                   "xoxb-wrong-slack-token-42"):
        assert secret not in everything


def test_redact_scrubs_every_secret():
    from nzbot.doctor import redact

    text = "key sim-key-long and token xoxb-abc, again sim-key-long"
    assert redact(text, ["sim-key-long", "xoxb-abc", ""]) == (
        "key [redacted] and token [redacted], again [redacted]"
    )


def test_a_key_lacking_the_configuration_permission_is_named(doctor):
    # Issue 9: Alma answers 400 + XML UNAUTHORIZED, not 401, to a key lacking a permission.
    doctor.sim.key_permissions["Configuration"] = None
    code, lines, _ = doctor.run()
    assert code == 1
    key = line_for(lines, "Alma API key")
    assert key.startswith("FAIL Alma API key: ")
    assert "not allowed to read jobs: give it Configuration read/write" in key


def test_a_key_lacking_the_bibs_permission_is_named(doctor):
    """Without Bibs every /nz match and preview fails: the doctor must say so before the
    first run, not pass the key because it reads the job list."""
    doctor.sim.key_permissions["Bibs"] = None
    code, lines, _ = doctor.run()
    assert code == 1
    key = line_for(lines, "Alma API key")
    assert key.startswith("FAIL Alma API key: ")
    assert "not allowed to read bib records: give it Bibs read/write" in key


def test_an_sru_url_answering_a_sign_in_page_fails(doctor):
    """A 200 HTML page is not "0 records": the doctor names SRU and the URL (issue 9 item 4)."""
    from tests.alma.contract.conftest import AlmaStub, Answer

    with AlmaStub() as portal:
        url = portal.base_url + "/view/sru/01SIM_NETWORK"
        portal.answer("GET", "/view/sru/01SIM_NETWORK", Answer(
            200, "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form></form></body></html>",
            "text/html"))
        doctor.set(ALMA_NZ_SRU_URL=url)
        code, lines, _ = doctor.run()
    assert code == 1
    sru = line_for(lines, "NZ SRU search")
    assert sru.startswith("FAIL NZ SRU search: ") and "did not answer with SRU" in sru
    assert url in sru and "Sign in" in sru and "records" not in sru


def test_an_unknown_region_lists_the_regions(doctor):
    doctor.set(ALMA_API_URL="us")
    code, lines, _ = doctor.run()
    assert code == 2
    (problem,) = [line for line in lines if line.startswith("FAIL Settings: ALMA_API_URL")]
    assert "a region (na, eu, ap, aps, ca, cn)" in problem and "'us'" in problem


def test_a_server_that_is_not_alma_is_not_called_alma(doctor, tmp_path):
    """Issue 23: a web server answering 404 was reported as "Alma answered HTTP 404", and
    then "Alma daily quota: unknown" though nothing had answered as Alma."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        doctor.set(ALMA_API_URL=f"http://127.0.0.1:{server.server_address[1]}")
        code, lines, _ = doctor.run()
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    alma = line_for(lines, "Alma API")
    assert alma.startswith(f"FAIL Alma API: 127.0.0.1:{server.server_address[1]} answered HTTP 404 with an HTML page")
    assert "Alma answered" not in alma and "not as Alma's API gateway would" in alma and "ALMA_API_URL" in alma
    assert not [line for line in lines if "Alma daily quota" in line]


def test_the_doctor_creates_no_database(doctor):
    """Issue 23: the doctor made an empty nzbot.db where it was run; it says there is none."""
    db = doctor.tmp_path / "nzbot.db"
    code, lines, _ = doctor.run()
    assert code == 0
    assert line_for(lines, "Database") == (f"ok   Database: there is no database at {db} (NZBOT_DB): the bot has "
                                           "never run here: `nzbot run` will create it (its folder is writable)")
    assert list(doctor.tmp_path.iterdir()) == []
