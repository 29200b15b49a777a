"""`nzbot run` stops at start-up with one line when it could not work: no SRU address
(every lookup would fail), a port already taken (issue 23)."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.bot.subprocess_bot import SubprocessBot
from tests.bot.subprocess_bot import stub  # noqa: F401 (fixture)


def run(env: dict, cwd, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def test_nzbot_run_without_the_sru_url_stops_with_one_line(sim, stub, tmp_path):  # noqa: F811
    env = SubprocessBot(sim, stub, tmp_path).env
    del env["ALMA_NZ_SRU_URL"]
    done = run(env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "nzbot: ALMA_NZ_SRU_URL is not set: give your network zone's SRU address, "
        "e.g. https://na01.alma.exlibrisgroup.com/view/sru/01ALLIANCE_NETWORK."]
    assert not (tmp_path / "nzbot.db").exists()


def test_nzbot_run_on_a_taken_port_says_so_in_one_line_naming_port(sim, stub, tmp_path):  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = SubprocessBot(sim, stub, tmp_path).env | {"PORT": str(port)}
        done = run(env, tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    problem = [line for line in done.stderr.splitlines() if "nzbot:" in line and "in use" in line]
    assert problem == [f"nzbot: port {port} is in use (another nzbot, or another server?): set PORT to a "
                       "free port, or stop what listens there."], done.stderr
    assert len(done.stderr.splitlines()) <= 3, done.stderr  # the log's start lines, then the one line


def test_nzbot_run_stops_cleanly_on_sigterm(sim, stub, tmp_path):  # noqa: F811
    """docker stop, systemd and Cloud Foundry stop with SIGTERM: the bot stops as on
    Ctrl-C (rounds stopped, its lock released), exit status 0, and a second start on the
    same database is not refused."""
    bot = SubprocessBot(sim, stub, tmp_path).start()
    try:
        bot.proc.terminate()
        assert bot.proc.wait(timeout=15) == 0
        assert "nzbot: stopped" in bot.log()
        assert "Traceback" not in bot.log()
        bot.start()  # the database's lock was let go
    finally:
        bot.stop()
