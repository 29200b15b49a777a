"""`python -m alma.simulator` (what `nzbot simulator` runs) prints the settings to paste,
as `export` lines, and the sample sets' ids, and serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import requests

from alma.simulator import seed

from .conftest import printed_settings


def test_serve_prints_settings_to_paste_and_answers():
    proc = subprocess.Popen(
        [sys.executable, "-m", "alma.simulator", "--port", "0", "--job-seconds", "0.1"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        exports, sets = printed_settings(proc.stdout)
        base, sru, key = exports["ALMA_API_URL"], exports["ALMA_NZ_SRU_URL"], exports["ALMA_API_KEY"]
        assert sru.startswith(base + "/view/sru/")
        assert exports["ALMA_NZ_API_KEY"]
        r = requests.get(f"{base}/almaws/v1/bibs/{seed.CASES['unique']}",
                         headers={"Authorization": f"apikey {key}", "Accept": "application/json"},
                         timeout=10)
        assert r.status_code == 200 and r.json()["mms_id"] == seed.CASES["unique"]
        assert ("Unlinked sample records" in dict(sets).values()) and len(sets) >= 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_printed_settings_are_all_nzbot_preview_needs(tmp_path):
    """The README's "try the command line": start the simulator, export what it prints,
    run `nzbot preview` on a set it names, and the preview answers."""
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "simulator", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        exports, sets = printed_settings(proc.stdout)
        set_id = next(i for i, name in sets if name == "Link job test set")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALMA_", "NZBOT_", "SLACK_"))}
        env.update(exports)
        done = subprocess.run([sys.executable, "-m", "bot.cli", "preview", set_id], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Link job test set" in done.stdout and "Will link: " in done.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_busy_port_is_one_line_naming_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "bot.cli", "simulator", "--port", str(port)],
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert f"port {port} is in use" in line and "--port" in line
