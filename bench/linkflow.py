"""Benchmark: `/nz link` on a large set, from the command to the Program Manager's queue.

Runs the real bot (`nzbot run`, in a child process so its memory is its own) against the
Alma simulator (150 ms a call) and the local Slack stand-in enforcing Slack's rate limit
(about one post a second per channel, 429 with Retry-After), on generated sets whose
records are 8% multi-matches; then the bot idle over a database of 10,000 open and
100,000 settled cases.

    python bench/linkflow.py                       # 10,000 and 100,000 records
    python bench/linkflow.py --sizes 10000 --poll 5

Prints time to report, re-check time and Alma calls, Slack calls and 429s, time until
the PM's queue holds every case, peak RSS; idle RSS and CPU.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from alma.simulator import Simulator, seed  # noqa: E402
from bench.common import free_port  # noqa: E402
from bot.demo.local_slack import SlackStub  # noqa: E402
from bot.demo.slack_requests import post_signed, slash_command_body  # noqa: E402
from nzbot.store import Store  # noqa: E402

API_KEY = "bench-key"
TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret-0a1b2c3d"
REPORT, CATALOGER, PM = "CREPORT01", "UCATALOG1", "UPROGMGR1"


def status_kb(pid: int, field: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_bot(sim: Simulator, stub: SlackStub, workdir: Path, poll: float) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("ALMA_", "SLACK_", "NZBOT_"))},
           "PYTHONPATH": str(REPO), "ALMA_API_KEY": API_KEY, "ALMA_API_URL": sim.base_url,
           "ALMA_NZ_SRU_URL": sim.sru_url, "ALMA_QUOTA_FLOOR": "0", "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": stub.api_url, "NZBOT_REPORT_CHANNEL": REPORT,
           "NZBOT_PM_USERS": PM, "NZBOT_DB": str(workdir / "nzbot.db"), "PORT": str(port),
           "NZBOT_POLL_SECONDS": str(poll), "NZBOT_DISCOVER_SECONDS": "300"}
    log = open(workdir / "nzbot.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=workdir, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return proc, port
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("nzbot run did not start: see " + str(workdir / "nzbot.log"))


def alma_calls(sim: Simulator) -> int:
    return sum(n for key, n in sim.calls.items() if "/conf/jobs" not in key)


def link_flow(size: int, latency: float, poll: float, timeout: float) -> None:
    state = seed.generate_state(size, seed=size)
    multi = sum(1 for b in state.iz.values() if getattr(b, "case", None) == "multi")
    set_id = next(s.id for s in state.sets.values() if s.name == seed.GENERATED_SET_NAME)
    with Simulator(state=state, api_key=API_KEY, job_seconds=10.0) as sim, \
            SlackStub(bot_token=TOKEN, users={CATALOGER: {"name": "cataloger"}, PM: {"name": "pm"}},
                      channels={REPORT: {"name": "nz-report"}}) as stub, \
            tempfile.TemporaryDirectory() as tmp:
        sim.faults.latency = latency
        stub.enforce_rate_limit(posts_per_second=1.0, burst=3)
        proc, port = start_bot(sim, stub, Path(tmp), poll)
        store = Store(str(Path(tmp) / "nzbot.db"))
        try:
            started = time.monotonic()
            body = slash_command_body(f"link {set_id}", user_id=CATALOGER, channel_id=REPORT,
                                      response_url=stub.response_url("link"))
            post_signed(f"http://127.0.0.1:{port}/slack/events", body, SECRET)
            marks: dict[str, float] = {}
            calls_at_report = 0
            deadline = started + timeout
            while time.monotonic() < deadline:
                jobs = store.link_jobs()
                job = jobs[0] if jobs else None
                now = time.monotonic() - started
                if job and "report" not in marks and job.state == "reported":
                    marks["report"], calls_at_report = now, alma_calls(sim)
                if job and "report" in marks and "recheck" not in marks and \
                        store.recheck(job.id).done:
                    marks["recheck"], recheck_calls = now, alma_calls(sim) - calls_at_report
                if job and "recheck" in marks and store.queue_messages_of(job.id):
                    marks["queue"] = now
                    break
                time.sleep(0.2)
            peak = status_kb(proc.pid, "VmHWM") / 1024
            time.sleep(max(3 * poll, 5))  # a few idle rounds after the flow
            after = status_kb(proc.pid, "VmRSS") / 1024
            cases = len(store.case_ids_of_job(job.id)) if job else 0
            calls = stub.calls()
            print(f"/nz link on {size:,} records ({multi:,} multi-matches), Alma {latency * 1000:.0f} ms a call, "
                  f"poll {poll:g} s:")
            print(f"  time to report       {marks.get('report', float('nan')):8.1f} s")
            if "recheck" in marks:
                print(f"  re-check             {marks['recheck'] - marks['report']:8.1f} s, {recheck_calls:,} Alma calls, "
                      f"{cases:,} cases")
            print(f"  PM's queue complete  {marks.get('queue', float('nan')):8.1f} s after the command "
                  f"(one message for the job)")
            print(f"  Slack calls          {len(calls):8,}, 429s {sum(c.status == 429 for c in calls):,}")
            print(f"  peak RSS             {peak:8.0f} MB; after the flow {after:.0f} MB", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


def idle(open_cases: int, settled: int, poll: float, rounds: int) -> None:
    with Simulator(state=seed.sample_state(), api_key=API_KEY) as sim, \
            SlackStub(bot_token=TOKEN, users={PM: {"name": "pm"}}, channels={REPORT: {"name": "nz-report"}}) as stub, \
            tempfile.TemporaryDirectory() as tmp:
        Store(str(Path(tmp) / "nzbot.db")).close()
        db = sqlite3.connect(Path(tmp) / "nzbot.db")
        candidates = '[{"mms_id": "9916000000000006390"}, {"mms_id": "9916000000010006390"}]'
        db.executemany(
            "INSERT INTO cases (iz_mms_id, iz_title, state, candidates, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            ((f"99{n:010d}06391", f"Title {n}", "open" if n < open_cases else "linked", candidates)
             for n in range(open_cases + settled)))
        # the open ones were shown already (as after a restart): nothing to deliver
        db.executemany("INSERT INTO case_messages (case_id, channel, ts) VALUES (?, 'DPM', ?)",
                       ((n + 1, f"1.{n}") for n in range(open_cases)))
        db.commit()
        db.close()
        proc, _ = start_bot(sim, stub, Path(tmp), poll)
        try:
            time.sleep(poll)
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(poll * rounds)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            print(f"idle, {open_cases:,} open and {settled:,} settled cases, poll {poll:g} s: "
                  f"RSS {status_kb(proc.pid, 'VmRSS') / 1024:.0f} MB (peak {status_kb(proc.pid, 'VmHWM') / 1024:.0f} MB), "
                  f"CPU {cpu:.1f}%", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--latency", type=float, default=0.15, help="seconds added to each Alma call")
    parser.add_argument("--poll", type=float, default=5.0, help="NZBOT_POLL_SECONDS")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per flow")
    parser.add_argument("--idle", type=int, nargs=2, default=[10_000, 100_000], metavar=("OPEN", "SETTLED"))
    parser.add_argument("--no-idle", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    for size in args.sizes:
        link_flow(size, args.latency, args.poll, args.timeout)
    if not args.no_idle:
        idle(args.idle[0], args.idle[1], args.poll, rounds=4)
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
