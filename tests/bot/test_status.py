"""`nzbot status`: a separate process reads the running bot's heartbeat from the database
and says whether it is healthy, how long since its last round and since Alma and Slack
answered it, and the queue sizes; exit 1 once the rounds stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from alma.simulator import seed


def status(db, poll: float = 0.2) -> tuple[int, dict]:
    env = {**os.environ, "NZBOT_DB": str(db), "NZBOT_POLL_SECONDS": str(poll)}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "status", "--json"], capture_output=True, text=True,
                          env=env, timeout=60)
    return done.returncode, json.loads(done.stdout)


def test_status_says_the_running_bot_is_healthy(harness):
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")  # Alma and Slack answer it
    harness.wait(lambda: harness.store.heartbeat() and harness.store.heartbeat().alma_ok_at
                 and harness.store.heartbeat().slack_ok_at, what="a heartbeat after Alma and Slack answered")
    code, found = status(harness.db_path)
    assert code == 0 and found["healthy"] and found["problems"] == []
    assert found["pid"] == os.getpid() and found["database_writable"]
    assert found["seconds_since_round"] < 5 and found["seconds_since_alma"] < 30 and found["seconds_since_slack"] < 30
    harness.stop()
    done = subprocess.run([sys.executable, "-m", "bot.cli", "status"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NZBOT_DB": str(harness.db_path)})
    assert done.returncode == 0 and "nzbot is healthy" in done.stdout and "last round:" in done.stdout


def test_the_rounds_stopping_makes_the_bot_unhealthy(harness):
    from nzbot.status import status_of

    harness.start()
    harness.wait(lambda: harness.store.heartbeat(), what="a heartbeat")
    store = harness.store
    later = time.time() + 3 * 0.2 + 31  # past three rounds and the allowance, as a stuck bot's status would be read
    found = status_of(store, 0.2, at=later)
    assert not found.healthy and "stopped or stuck" in found.problems[0]
    assert status_of(store, 0.2).healthy


def test_status_counts_the_queues_and_says_when_there_is_no_database(harness, tmp_path):
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: harness.store.cases(), timeout=30, what="the job's case")
    harness.wait(lambda: harness.store.heartbeat(), what="a heartbeat")
    code, found = status(harness.db_path)
    assert found["cases_unsettled"] == len([c for c in harness.store.cases() if c.state in
                                            ("open", "deciding", "linking", "failed")])
    env = {**os.environ, "NZBOT_DB": str(tmp_path / "none.db")}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "status"], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "no database" in done.stdout and not (tmp_path / "none.db").exists()


def test_healthz_answers_the_bots_own_status(harness):
    import requests

    harness.start()
    harness.wait(lambda: harness.store.heartbeat(), what="a heartbeat")
    answer = requests.get(f"http://127.0.0.1:{harness.server.port}/healthz", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    found = answer.json()
    assert found["healthy"] and found["database_writable"] and found["seconds_since_round"] < 5
    harness.db_path.unlink()  # the database file deleted under the running bot
    harness.wait(lambda: harness.store.lost is not None, what="the loss noticed")
    answer = requests.get(f"http://127.0.0.1:{harness.server.port}/healthz", timeout=10)
    assert answer.status_code == 503 and not answer.json()["healthy"]
    assert "database" in answer.json()["problems"][0]


def test_the_heartbeat_goes_on_while_long_rounds_fill_every_round_thread(harness):
    """Members' long re-checks may hold every thread of the members' rounds for minutes
    (issue 24's shared pools): the bot's own round, the heartbeat `nzbot status` reads,
    has a thread of its own and is not held behind them."""
    import threading

    from bot.scheduler import ROUND_THREADS

    harness.start()
    scheduler = harness.bot.scheduler
    release = threading.Event()
    try:
        for k in range(ROUND_THREADS * 2):  # more long rounds than threads, each a member's
            scheduler.pool.submit(f"member {k}", release.wait, 60)
        time.sleep(0.5)
        before = harness.store.heartbeat().round_at
        harness.wait(lambda: harness.store.heartbeat().round_at > before, timeout=10,
                     what="a heartbeat while every round thread is busy")
    finally:
        release.set()
    harness.stop()
