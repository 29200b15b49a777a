"""Benchmark: one nzbot for a consortium, as a deployment runs it. N member IZs (simulated,
sharing one NZ, each with its own key), each running a link job on its own 1,000-record
set and the re-check after it, all at once, with every Alma call delayed; meanwhile /nz
commands are sent from the members' channels and their acks timed.

    PYTHONPATH=. python bench/consortium.py                    # 40 members, 1,000 records, 150 ms
    PYTHONPATH=. python bench/consortium.py --institutions 4 --records 200
    PYTHONPATH=. python bench/consortium.py --runs 3           # three runs, then min / median / max

Every part runs in a process of its own: the Alma simulator, the Slack stand-in (enforcing
Slack's pace, about one post a second per channel, 429 with Retry-After), the sender of
the commands, and the bot itself: `nzbot run` in HTTP mode, configured as a deployment is
(NZBOT_CONFIG naming the members, each key in its own variable, INFO logging as `nzbot run`
sets it), its output kept in a file. The bench reads the bot's database read-only to see
when each member's job is reported and re-checked, and /proc for the bot's threads and RSS.

Prints, for each run: the wall time (first /nz link to the last re-check done), each
member's time, the same for one member alone (the reference: the Alma-bound time of a
member, run first unless --no-reference) and the ratio of the two (target: within 1.2),
Alma calls per member (min / median / max, from the simulator's counts per key), the acks
of the /nz commands sent meanwhile (target: p99 under 300 ms), Slack calls and 429s, the
bot's log lines and their most frequent kinds, its peak threads and peak RSS, the load
average before and after; then a table of each figure over the runs. Everything started
is stopped at the end, even on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import re
import resource
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.common import free_port, percentile  # noqa: E402

API_KEY = "bench-consortium-key"
SRU = "GET /view/sru"  # the simulator's count key for NZ SRU searches
BOT_TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
PM = "UPROGMGR1"
CATALOGER = "UCATALOG1"
SPAWN = multiprocessing.get_context("spawn")  # children start clean: no copied threads or locks
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")  # `nzbot run`'s log format


def channel_of(number: int) -> str:
    return f"CMEMBER{number:03d}"


def code_of(number: int) -> str:
    return f"01BENCH_{number:03d}"


def key_env_of(number: int) -> str:
    return f"BENCH_ALMA_KEY_{number:03d}"


def ignore_interrupts() -> None:
    """In the children: Ctrl-C is the parent's to handle, which stops them in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# ---------------------------------------------------------------- the children's processes

def serve_alma(n: int, records: int, latency: float, job_seconds: float, conn) -> None:
    """The simulator: n generated IZs sharing the first's NZ; sends (base URL, SRU URL,
    set ids, a record), then, when told to stop, the calls each member's key made."""
    from alma.simulator import Simulator, member_key, seed

    ignore_interrupts()
    states = [seed.generate_state(records, seed=0) for _ in range(n)]
    for number, state in enumerate(states, start=1):
        state.institution_code = code_of(number)
    sim = Simulator(state=states[0], api_key=member_key(API_KEY, 1), job_seconds=job_seconds, seed=1)
    zones = [sim] + [sim.add_institution(state, member_key(API_KEY, k)) for k, state in enumerate(states[1:], 2)]
    for zone in zones:
        zone.faults.latency = latency
    sim.start()
    conn.send((sim.base_url, sim.sru_url, [next(iter(state.sets)) for state in states], next(iter(states[0].iz))))
    conn.recv()  # stop
    # REST calls come with a member's key; SRU (the NZ's, keyless) is the gateway's own count
    # and its own CPU time: on a machine of few cores, Alma's stand-in competes with the bot
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(([sum(c for k, c in zone.calls.items() if k != SRU) for zone in zones], sim.calls[SRU],
               usage.ru_utime + usage.ru_stime))
    sim.stop()


def serve_slack(n: int, conn) -> None:
    """The Slack stand-in, at Slack's pace; sends its base URL, then, when told to stop,
    the calls it had (by method) and how many it refused with 429."""
    from bot.demo.local_slack import SlackStub

    ignore_interrupts()
    stub = SlackStub(bot_token=BOT_TOKEN, users={PM: {"name": "pm"}, CATALOGER: {"name": "cataloger"}},
                     channels={channel_of(k): {"name": f"member-{k}"} for k in range(1, n + 1)}).start()
    stub.enforce_rate_limit(posts_per_second=1.0, burst=3)
    conn.send(stub.base_url)
    conn.recv()  # stop
    calls = stub.calls()
    conn.send((Counter(c.method for c in calls), sum(c.status == 429 for c in calls)))
    stub.stop()


def send_meanwhile(n: int, per_second: float, conn) -> None:
    """The commands sent meanwhile, as Slack sends them from outside the bot: once told
    where, /nz jobs, help, cases and match from random members' channels, each on a thread
    of its own; when told to stop, sends back each ack's latency, and how many failed."""
    from bot.demo.slack_requests import post_signed, slash_command_body

    ignore_interrupts()
    url, slack_url, a_record = conn.recv()
    rng, acks, failures, lock = random.Random(1), [], [0], threading.Lock()

    def send(text: str, number: int) -> None:
        body = slash_command_body(text, user_id=CATALOGER, channel_id=channel_of(number),
                                  response_url=f"{slack_url}/response/c{time.monotonic_ns()}")
        started = time.perf_counter()
        try:
            ok = post_signed(url, body, SECRET, timeout=10).status_code == 200
        except requests.RequestException:
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


class Child:
    """A function in a process of its own, talked to over a pipe; stopped on exit."""

    def __init__(self, target, *args) -> None:
        self.conn, there = SPAWN.Pipe()
        self.process = SPAWN.Process(target=target, args=(*args, there), daemon=True)
        self.process.start()

    def recv(self, timeout: float = 300.0):
        if not self.conn.poll(timeout):
            raise RuntimeError(f"{self.process.name} did not answer within {timeout:g} s")
        return self.conn.recv()

    def finish(self, timeout: float = 60.0):
        """Tells it to stop; its last answer."""
        self.conn.send("stop")
        return self.recv(timeout)

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


# ---------------------------------------------------------------- the bot

def write_config(path: Path, n: int) -> None:
    """NZBOT_CONFIG: one [[institution]] per member, its key in a variable of its own."""
    tables = [f'[[institution]]\ncode = "{code_of(k)}"\nname = "Member {k}"\n'
              f'api_key_env = "{key_env_of(k)}"\nchannels = ["{channel_of(k)}"]\n' for k in range(1, n + 1)]
    path.write_text("\n".join(tables), encoding="utf-8")


def bot_env(tmp: Path, n: int, port: int, alma_url: str, sru_url: str, slack_url: str) -> dict[str, str]:
    """A deployment's environment (the Dockerfile's PYTHONUNBUFFERED too); nothing of the
    caller's ALMA_, SLACK_ or NZBOT_ settings. Polling as in a lively deployment: jobs every
    second, Alma's UI runs every 30 s, decisions batched 5 s."""
    from alma.simulator import member_key

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALMA_", "SLACK_", "NZBOT_", "BENCH_"))}
    env.update({
        "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "PORT": str(port),
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack_url}/api/",
        "ALMA_API_URL": alma_url, "ALMA_NZ_SRU_URL": sru_url,
        "NZBOT_CONFIG": str(tmp / "nzbot.toml"), "NZBOT_DB": str(tmp / "nzbot.db"), "NZBOT_PM_USERS": PM,
        "NZBOT_POLL_SECONDS": "1", "NZBOT_DISCOVER_SECONDS": "30", "NZBOT_CASE_BATCH_SECONDS": "5",
    })
    env.update({key_env_of(k): member_key(API_KEY, k) for k in range(1, n + 1)})
    return env


def nzbot_command() -> list[str]:
    """The console script next to this Python (the venv's), as a deployment runs it."""
    script = Path(sys.executable).with_name("nzbot")
    return [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot.cli", "run"]


class Bot:
    """`nzbot run` in a session of its own (Ctrl-C here is ours to pass on, as SIGTERM),
    its stdout and stderr in `log`."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self.port = int(env["PORT"])
        with open(log, "wb") as out:
            self.process = subprocess.Popen(nzbot_command(), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def wait_ready(self, timeout: float = 60.0) -> str:
        """Waits for GET /health; then what /healthz says (200 healthy, 503 and why not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nzbot run exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/health", timeout=1).ok:
                    return self.healthz()
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"nzbot run did not answer on port {self.port} within {timeout:g} s:\n{self.tail()}")

    def healthz(self) -> str:
        answer = requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=10)
        problems = answer.json().get("problems") if answer.status_code == 503 else None
        return f"{answer.status_code}" + (f": {'; '.join(problems)}" if problems else "")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(read_lines(self.log)[-lines:])

    def stop(self) -> int | None:
        """SIGTERM (what `docker stop` sends), then SIGKILL if it lingers; its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode

    def __enter__(self) -> "Bot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Sampler(threading.Thread):
    """The bot's threads and RSS from /proc/PID/status every 0.2 s; peaks kept."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True, name="sampler")
        self.pid, self.threads, self.rss_kb = pid, 0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            self.sample()

    def sample(self) -> None:
        try:
            status = dict(line.split(":", 1) for line in open(f"/proc/{self.pid}/status"))
        except OSError:  # gone
            return
        kb = lambda name: int(status.get(name, "0 kB").split()[0])  # noqa: E731
        self.threads = max(self.threads, kb("Threads"))
        self.rss_kb = max(self.rss_kb, kb("VmHWM"), kb("VmRSS"))

    def stop(self) -> None:
        self.sample()  # VmHWM as last seen: the peak even between samples
        self.stopped.set()
        self.join(timeout=5)


def cpu_seconds(pid: int) -> float:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def log_kinds(lines: list[str]) -> Counter:
    """Lines by kind: the message with its time stamp dropped and numbers as N."""
    return Counter(re.sub(r"\d+", "N", STAMP.sub("", line))[:160] for line in lines)


# ---------------------------------------------------------------- the bot's database

def reading(db_path: Path) -> sqlite3.Connection:
    """Read-only: the bench never writes the bot's database, nor creates it."""
    return sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=5)


def members_done(db_path: Path) -> set[str]:
    """The members whose link job is reported and re-checked."""
    try:
        with closing(reading(db_path)) as db:
            return {row[0] for row in db.execute(
                "SELECT DISTINCT institution FROM link_jobs WHERE state = 'reported' AND reconciled = 1")}
    except sqlite3.Error:  # not there yet, or busy: asked again next time
        return set()


def job_states(db_path: Path) -> str:
    try:
        with closing(reading(db_path)) as db:
            rows = db.execute("SELECT state, reconciled, count(*) FROM link_jobs GROUP BY 1, 2").fetchall()
    except sqlite3.Error as exc:
        return f"(unreadable: {exc})"
    return ", ".join(f"{state}{' re-checked' if done else ''}: {count}" for state, done, count in rows) or "none"


def cases_opened(db_path: Path) -> int:
    try:
        with closing(reading(db_path)) as db:
            return db.execute("SELECT count(*) FROM cases").fetchone()[0]
    except sqlite3.Error:
        return -1


# ---------------------------------------------------------------- one measurement

def send_links(url: str, slack_url: str, sets: list[str]) -> list[float | None]:
    """/nz link SET from every member's channel at once; each ack's latency (None: failed)."""
    from bot.demo.slack_requests import post_signed, slash_command_body

    acks: list[float | None] = [None] * len(sets)

    def send(k: int) -> None:
        body = slash_command_body(f"link {sets[k - 1]}", user_id=CATALOGER, channel_id=channel_of(k),
                                  response_url=f"{slack_url}/response/link{k}")
        started = time.perf_counter()
        try:
            if post_signed(url, body, SECRET, timeout=30).status_code == 200:
                acks[k - 1] = time.perf_counter() - started
        except requests.RequestException:
            pass

    threads = [threading.Thread(target=send, args=(k,), daemon=True) for k in range(1, len(sets) + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=40)
    return acks


def wait_done(db_path: Path, n: int, started: float, timeout: float, bot: Bot) -> dict[str, float]:
    """Each member's time (first /nz link to its re-check done), read every 0.25 s."""
    times: dict[str, float] = {}
    deadline = started + timeout
    while len(times) < n and time.perf_counter() < deadline and bot.process.poll() is None:
        for code in members_done(db_path) - set(times):
            times[code] = time.perf_counter() - started
        time.sleep(0.25)
    return times


def measure(n: int, args: argparse.Namespace, commands_per_second: float) -> dict:
    """One run of n members: the figures, as a dict (see FIGURES), and a few lists."""
    figures: dict = {"members": n, "load_before": os.getloadavg()[0]}
    tmp = Path(tempfile.mkdtemp(prefix="nzbot-bench-consortium-"))
    with ExitStack() as stack:
        if args.keep:
            print(f"  (kept: {tmp})")
        else:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        alma = stack.enter_context(Child(serve_alma, n, args.records, args.alma_latency, args.job_seconds))
        slack = stack.enter_context(Child(serve_slack, n))
        sender = stack.enter_context(Child(send_meanwhile, n, commands_per_second)) if commands_per_second else None
        alma_url, sru_url, sets, a_record = alma.recv()
        slack_url = slack.recv()
        write_config(tmp / "nzbot.toml", n)
        bot_started = time.perf_counter()
        bot = stack.enter_context(Bot(bot_env(tmp, n, free_port(), alma_url, sru_url, slack_url), tmp,
                                      tmp / "nzbot.log"))
        sampler = Sampler(bot.pid)
        sampler.start()
        stack.callback(sampler.stop)
        figures["healthz"] = bot.wait_ready()
        figures["ready_s"] = time.perf_counter() - bot_started
        figures["startup_lines"] = len(read_lines(bot.log))

        started = time.perf_counter()
        link_acks = send_links(bot.url, slack_url, sets)
        if sender is not None:
            sender.conn.send((bot.url, slack_url, a_record))
        times = wait_done(tmp / "nzbot.db", n, started, args.timeout, bot)
        figures["wall"] = max(times.values()) if len(times) == n else float("nan")
        figures["run_lines"] = len(read_lines(bot.log)) - figures["startup_lines"]
        acks, figures["ack_failed"] = sender.finish() if sender is not None else ([], 0)
        figures["cpu_s"] = cpu_seconds(bot.pid)
        sampler.stop()
        figures["threads"], figures["rss_mb"] = sampler.threads, sampler.rss_kb / 1024
        figures["cases"], figures["jobs"] = cases_opened(tmp / "nzbot.db"), job_states(tmp / "nzbot.db")
        figures["exit"] = bot.stop()  # before Alma and Slack go: no errors of their going in its log
        calls, figures["sru"], figures["alma_cpu_s"] = alma.finish()
        by_method, figures["slack_429"] = slack.finish()
        lines = read_lines(bot.log)
    figures.update(times=times, calls=sorted(calls), link_acks=link_acks, acks=sorted(acks),
                   by_method=by_method, slack_calls=sum(by_method.values()), log_lines=len(lines),
                   kinds=log_kinds(lines).most_common(args.top), load_after=os.getloadavg()[0],
                   done=len(times))
    figures.update(ack_figures(figures["acks"]))
    figures["calls_median"] = statistics.median(calls)
    return figures


def ack_figures(acks: list[float]) -> dict[str, float]:
    if not acks:
        return {"ack_p50": float("nan"), "ack_p99": float("nan"), "ack_max": float("nan")}
    return {"ack_p50": percentile(acks, 50) * 1000, "ack_p99": percentile(acks, 99) * 1000, "ack_max": acks[-1] * 1000}


# ---------------------------------------------------------------- what is printed

def print_run(f: dict) -> None:
    n = f["members"]
    print(f"  nzbot run ready in {f['ready_s']:.1f} s (/healthz {f['healthz']}); "
          f"link jobs reported and re-checked: {f['done']} of {n} (jobs: {f['jobs']}); cases opened: {f['cases']:,}")
    print(f"  wall time: {f['wall']:.1f} s (first /nz link to the last re-check done)")
    times = [f["times"].get(code_of(k), float("nan")) for k in range(1, n + 1)]
    print(f"  each member's time (s), member 1 first: {' '.join(f'{t:.1f}' for t in times)}")
    if "reference" in f:
        print(f"  one member alone: {f['reference']:.1f} s; wall / one member alone: {f['ratio']:.2f} (target 1.2)")
    calls = f["calls"]
    print(f"  Alma API calls per member (its key): min {calls[0]}, median {f['calls_median']:.0f}, max {calls[-1]} "
          f"(all {sum(calls):,}); NZ SRU searches, all members: {f['sru']:,}")
    answered = sorted(a for a in f["link_acks"] if a is not None)
    if answered:
        print(f"  /nz link acks, all members at once: {len(answered)} (failed {n - len(answered)}), "
              f"p50 {percentile(answered, 50) * 1000:.0f} ms, max {answered[-1] * 1000:.0f} ms")
    if f["acks"] or f["ack_failed"]:
        print(f"  /nz acks meanwhile: {len(f['acks'])} (failed {f['ack_failed']}), p50 {f['ack_p50']:.0f} ms, "
              f"p99 {f['ack_p99']:.0f} ms, max {f['ack_max']:.0f} ms")
    methods = ", ".join(f"{m} {c}" for m, c in f["by_method"].most_common(4))
    print(f"  Slack calls: {f['slack_calls']:,} ({methods}); 429s: {f['slack_429']}")
    print(f"  bot log lines: {f['log_lines']:,} (start-up {f['startup_lines']}, first /nz link to last re-check "
          f"{f['run_lines']:,}); most frequent:")
    for kind, count in f["kinds"]:
        print(f"    {count:6,}  {kind}")
    print(f"  bot: peak threads {f['threads']}, peak RSS {f['rss_mb']:.0f} MB, CPU {f['cpu_s']:.1f} s; "
          f"exit code {f['exit']} after SIGTERM; the Alma simulator's CPU {f['alma_cpu_s']:.1f} s")
    print(f"  load average (1 min): {f['load_before']:.2f} before, {f['load_after']:.2f} after "
          f"({os.cpu_count()} cores)", flush=True)


# (key, label, format) of the figures in the summary table
FIGURES = [
    ("wall", "wall time (s)", "{:.1f}"),
    ("reference", "one member alone (s)", "{:.1f}"),
    ("ratio", "wall / one member alone", "{:.2f}"),
    ("calls_median", "Alma calls per member, median", "{:.0f}"),
    ("ack_p50", "ack p50 (ms)", "{:.0f}"),
    ("ack_p99", "ack p99 (ms)", "{:.0f}"),
    ("ack_max", "ack max (ms)", "{:.0f}"),
    ("ack_failed", "acks failed", "{:.0f}"),
    ("slack_calls", "Slack calls", "{:.0f}"),
    ("slack_429", "Slack 429s", "{:.0f}"),
    ("log_lines", "log lines", "{:.0f}"),
    ("threads", "peak threads", "{:.0f}"),
    ("rss_mb", "peak RSS (MB)", "{:.0f}"),
    ("cpu_s", "bot CPU (s)", "{:.1f}"),
    ("alma_cpu_s", "Alma simulator CPU (s)", "{:.1f}"),
    ("load_before", "load average before", "{:.2f}"),
    ("load_after", "load average after", "{:.2f}"),
]


def print_summary(runs: list[dict]) -> None:
    """Markdown: each figure in each run, then its min / median / max."""
    heads = [f"run {i}" for i in range(1, len(runs) + 1)] + ["min", "median", "max"]
    print("| figure | " + " | ".join(heads) + " |")
    print("| --- |" + " ---: |" * len(heads))
    for key, label, fmt in FIGURES:
        values = [r[key] for r in runs if key in r]
        if not values:
            continue
        known = sorted(v for v in values if not math.isnan(v))
        spread = [known[0], statistics.median(known), known[-1]] if known else [float("nan")] * 3
        print(f"| {label} | " + " | ".join(fmt.format(v) for v in values + spread) + " |")


def one_run(number: int, args: argparse.Namespace) -> dict:
    reference = None
    if not args.no_reference:
        print(f"run {number}: one member alone (the reference)", flush=True)
        reference = measure(1, args, commands_per_second=0)
        print_run(reference)
    print(f"run {number}: {args.institutions} members", flush=True)
    figures = measure(args.institutions, args, args.commands_per_second)
    if reference is not None:
        figures["reference"] = reference["wall"]
        figures["ratio"] = figures["wall"] / reference["wall"]
    print_run(figures)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--institutions", type=int, default=40)
    parser.add_argument("--records", type=int, default=1000, help="records in each member's set")
    parser.add_argument("--alma-latency", type=float, default=0.15, help="seconds added to every Alma call")
    parser.add_argument("--job-seconds", type=float, default=5.0, help="how long a simulated link job runs")
    parser.add_argument("--commands-per-second", type=float, default=4.0, help="/nz commands sent meanwhile")
    parser.add_argument("--runs", type=int, default=1, help="measurements, each with its reference")
    parser.add_argument("--no-reference", action="store_true", help="skip the run of one member alone")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for the link jobs of a run")
    parser.add_argument("--top", type=int, default=5, help="most frequent kinds of log line shown")
    parser.add_argument("--keep", action="store_true", help="keep each run's temp dir (the bot's log and database)")
    args = parser.parse_args()
    if args.institutions < 1 or args.runs < 1 or args.commands_per_second < 0:
        parser.error("--institutions and --runs must be at least 1, --commands-per-second at least 0")
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    print(f"members {args.institutions}, records each {args.records:,}, Alma latency {args.alma_latency * 1000:.0f} ms, "
          f"link job {args.job_seconds:g} s, commands {args.commands_per_second:g}/s; bot: "
          f"{shlex.join(nzbot_command())}", flush=True)
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(one_run(number, args))
    print()
    print_summary(runs)
    return 0 if all(r["done"] == args.institutions for r in runs) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # everything started was stopped on the way out
        sys.exit(130)
