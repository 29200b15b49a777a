"""Benchmark: how quickly `nzbot run` acks /nz commands while another process holds a write
lock on its database, and whether the work after each ack is done once the lock is gone.

    PYTHONPATH=. .venv/bin/python bench/locked_db.py [--seconds 10] [--rounds 4]

A real `nzbot run` process (HTTP mode) against the Alma simulator and the Slack stand-in;
the lock is a `BEGIN IMMEDIATE` transaction on the bot's SQLite file, held for `--seconds`.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alma.simulator import Simulator, seed  # noqa: E402
from tests.bot.subprocess_bot import SubprocessBot, make_stub  # noqa: E402

KEY = "bench-simulator-key"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the lock is held")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of five commands")
    args = parser.parse_args()
    with Simulator(state=seed.sample_state(), api_key=KEY, job_seconds=0.6, seed=1) as sim:
        stub = make_stub()
        bot = SubprocessBot(sim, stub, Path(tempfile.mkdtemp(prefix="nzbot-bench-")))
        try:
            bot.start()
            lock = sqlite3.connect(str(bot.db_path), isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            lock.execute("INSERT OR REPLACE INTO handled_requests (key, received_at) VALUES ('bench lock', 'held')")
            held = time.monotonic()
            texts = ["help", "jobs", f"link {seed.SETS['link_test']}", "cases",
                     f"match {seed.CASES['unique']}"] * args.rounds
            acks = []
            for text in texts:
                started = time.monotonic()
                answer, _ = bot.command(text)
                acks.append((time.monotonic() - started, answer.status_code))
            time.sleep(max(0.0, args.seconds - (time.monotonic() - held)))
            lock.rollback()
            lock.close()
            links = args.rounds
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(bot.store.link_jobs()) < links:
                time.sleep(0.1)
            seconds = [s for s, _ in acks]
            print(f"{len(acks)} commands under a {args.seconds:g} s write lock: "
                  f"HTTP {sorted({c for _, c in acks})}, median {statistics.median(seconds) * 1000:.0f} ms, "
                  f"max {max(seconds) * 1000:.0f} ms, over 3 s: {sum(s >= 3 for s in seconds)}")
            print(f"link requests recorded after the lock: {len(bot.store.link_jobs())} of {links}")
        finally:
            bot.stop()
            stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
