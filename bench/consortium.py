"""Benchmark: one nzbot for a consortium. N member IZs (simulated, sharing one NZ, each
with its own key), each running a link job on its own 1,000-record set and the re-check
after it, all at once, with every Alma call delayed; meanwhile /nz commands are sent from
the members' channels and their acks timed.

    PYTHONPATH=. python bench/consortium.py                    # 40 members, 1,000 records, 150 ms
    PYTHONPATH=. python bench/consortium.py --institutions 4 --records 200

Prints the wall time (first /nz link to the last re-check done), Alma calls per
institution (min / median / max, from the simulator's counts per key), the bot's peak RSS
(the bot and the Slack stand-in; the simulator runs in a process of its own, so that its
work is not counted as the bot's), and the ack latency of the /nz commands sent meanwhile
(target: p99 under 300 ms). Everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alma.config import AlmaSettings  # noqa: E402
from alma.simulator import Simulator, member_key, seed  # noqa: E402
from bot.app import create_bot  # noqa: E402
from bot.server import SlackHttpServer  # noqa: E402
from bot.demo.local_slack import SlackStub  # noqa: E402
from bot.demo.slack_requests import post_signed, slash_command_body  # noqa: E402
from nzbot.institutions import Institution  # noqa: E402
from nzbot.settings import BotSettings  # noqa: E402

API_KEY = "bench-consortium-key"
SRU = "GET /view/sru"  # the simulator's count key for NZ SRU searches
BOT_TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
PM = "UPROGMGR1"
CATALOGER = "UCATALOG1"


def percentile(values: list[float], p: float) -> float:
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[rank - 1]


def channel_of(number: int) -> str:
    return f"CMEMBER{number:03d}"


def serve_consortium(n: int, records: int, latency: float, job_seconds: float, conn) -> None:
    """The simulator's process: n generated IZs sharing the first's NZ; sends (base URL,
    SRU URL, set ids), then, when told to stop, the calls each member's key made."""
    states = [seed.generate_state(records, seed=0) for _ in range(n)]
    for number, state in enumerate(states, start=1):
        state.institution_code = f"01BENCH_{number:03d}"
    sim = Simulator(state=states[0], api_key=member_key(API_KEY, 1), job_seconds=job_seconds, seed=1)
    zones = [sim] + [sim.add_institution(state, member_key(API_KEY, k)) for k, state in enumerate(states[1:], 2)]
    for zone in zones:
        zone.faults.latency = latency
    sim.start()
    conn.send((sim.base_url, sim.sru_url, [next(iter(state.sets)) for state in states], next(iter(states[0].iz))))
    conn.recv()  # stop
    # REST calls come with a member's key; SRU (the NZ's, keyless) is the gateway's own count
    conn.send(([sum(n for k, n in zone.calls.items() if k != SRU) for zone in zones], sim.calls[SRU]))
    sim.stop()


def send_meanwhile(n: int, per_second: float, conn) -> None:
    """The commands sent meanwhile, from a process of their own (as Slack sends them from
    outside the bot's; started before the bot's threads, so forking copies none): once told
    where, /nz jobs, help, cases and match from random members' channels, each on a thread
    of its own; sends back each ack's latency, and how many failed."""
    url, response_url, a_record = conn.recv()
    rng, acks, failures, lock = random.Random(1), [], [0], threading.Lock()

    def send(text: str, number: int) -> None:
        body = slash_command_body(text, user_id=CATALOGER, channel_id=channel_of(number),
                                  response_url=f"{response_url}{time.monotonic_ns()}")
        started = time.perf_counter()
        try:
            ok = post_signed(url, body, SECRET, timeout=10).status_code == 200
        except Exception:
            ok = False
        with lock:
            if ok:
                acks.append(time.perf_counter() - started)
            else:
                failures[0] += 1

    texts = ["jobs", "help", "cases", f"match {a_record}"]
    threads = []
    while not conn.poll(1.0 / per_second):
        threads.append(threading.Thread(target=send, args=(rng.choice(texts), rng.randrange(1, n + 1)), daemon=True))
        threads[-1].start()
    conn.recv()
    for t in threads:
        t.join(timeout=10)
    with lock:
        conn.send((acks, failures[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--institutions", type=int, default=40)
    parser.add_argument("--records", type=int, default=1000, help="records in each member's set")
    parser.add_argument("--alma-latency", type=float, default=0.15, help="seconds added to every Alma call")
    parser.add_argument("--job-seconds", type=float, default=5.0, help="how long a simulated link job runs")
    parser.add_argument("--commands-per-second", type=float, default=4.0, help="/nz commands sent meanwhile")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    n = args.institutions

    # each member its own generated catalogue (one set of all its records); all share the
    # first one's NZ (identical records), in the simulator's own process
    here, there = multiprocessing.Pipe()
    simulator = multiprocessing.Process(target=serve_consortium, daemon=True, args=(
        n, args.records, args.alma_latency, args.job_seconds, there))
    simulator.start()
    base_url, sru_url, sets, a_record = here.recv()
    commands, commands_there = multiprocessing.Pipe()
    sender = multiprocessing.Process(target=send_meanwhile, daemon=True, args=(
        n, args.commands_per_second, commands_there))
    sender.start()
    stub = SlackStub(bot_token=BOT_TOKEN, users={PM: {"name": "pm"}, CATALOGER: {"name": "cataloger"}},
                     channels={channel_of(k): {"name": f"member-{k}"} for k in range(1, n + 1)}).start()
    tmp = tempfile.mkdtemp(prefix="nzbot-bench-consortium-")
    alma = AlmaSettings(api_key="", api_url=base_url, nz_sru_url=sru_url, timeout_seconds=30,
                        max_retries=5, quota_floor=0)
    members = tuple(Institution(code=f"01BENCH_{k:03d}", name=f"Member {k}", channels=(channel_of(k),),
                                alma=replace(alma, api_key=member_key(API_KEY, k)), api_key_env=f"KEY_{k}")
                    for k in range(1, n + 1))
    settings = BotSettings(alma=alma, bot_token=BOT_TOKEN, signing_secret=SECRET, slack_api_url=stub.api_url,
                           pm_users=(PM,), db_path=os.path.join(tmp, "nzbot.db"), poll_seconds=1.0,
                           discover_seconds=30.0, case_batch_seconds=5.0, members=members)
    bot = create_bot(settings)
    server = SlackHttpServer(bot.app, host="127.0.0.1", port=0).start()
    acks: list[float] = []
    failures = 0

    def send(text: str, number: int) -> None:
        nonlocal failures
        body = slash_command_body(text, user_id=CATALOGER, channel_id=channel_of(number),
                                  response_url=stub.response_url(f"c{time.monotonic_ns()}"))
        started = time.perf_counter()
        try:
            answer = post_signed(server.url, body, SECRET, timeout=10)
            ok = answer.status_code == 200
        except Exception:
            ok = False
        if ok:
            acks.append(time.perf_counter() - started)
        else:
            failures += 1

    store = bot.services.store
    try:
        started = time.perf_counter()
        senders = [threading.Thread(target=send, args=(f"link {sets[k - 1]}", k)) for k in range(1, n + 1)]
        for t in senders:
            t.start()
        for t in senders:
            t.join(timeout=30)
        link_acks, acks = sorted(acks), []
        commands.send((server.url, stub.response_url("c"), a_record))
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            jobs = store.link_jobs()
            if len(jobs) >= n and all(j.state == "reported" and j.reconciled for j in jobs):
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        commands.send("stop")
        acks, failures = commands.recv()
        jobs = store.link_jobs()
        done = sum(1 for j in jobs if j.state == "reported" and j.reconciled)
        here.send("stop")
        calls, sru_calls = here.recv()
        calls = sorted(calls)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cases = len(store.cases())
        load = os.getloadavg()
        print(f"members {n}, records each {args.records:,}, Alma latency {args.alma_latency * 1000:.0f} ms, "
              f"link job {args.job_seconds:g} s")
        print(f"link jobs reported and re-checked: {done} of {n}; cases opened: {cases:,}")
        print(f"wall time: {wall:.1f} s")
        print(f"Alma API calls per institution (its key): min {calls[0]}, median {statistics.median(calls):.0f}, "
              f"max {calls[-1]} (all {sum(calls):,}); NZ SRU searches, all members: {sru_calls:,}")
        print(f"peak RSS: {rss_mb:.0f} MB (the bot and the Slack stand-in; the simulator apart)")
        if link_acks:
            print(f"/nz link acks, all members at once: {len(link_acks)}, p50 "
                  f"{percentile(link_acks, 50) * 1000:.0f} ms, max {link_acks[-1] * 1000:.0f} ms")
        answered = sorted(acks)
        if answered:
            print(f"/nz acks meanwhile: {len(answered)} (failed {failures}), p50 "
                  f"{percentile(answered, 50) * 1000:.0f} ms, p99 {percentile(answered, 99) * 1000:.0f} ms, "
                  f"max {answered[-1] * 1000:.0f} ms")
        print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} ({os.cpu_count()} cores)")
    finally:
        bot.stop()  # its rounds first: nothing left posting to the stand-in as it stops
        server.stop()
        time.sleep(1.0)  # the last commands' answers
        stub.stop()
        for process in (simulator, sender):
            process.terminate()
            process.join(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
