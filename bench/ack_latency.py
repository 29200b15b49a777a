"""Benchmark: how quickly the bot acknowledges a burst of /nz commands while Alma is slow.

Slack wants every slash command acknowledged within 3 seconds. This starts the Alma
simulator (every call delayed by --alma-latency seconds), the Slack Web API stub and the
real bot in HTTP mode (Bolt app + SlackHttpServer on 127.0.0.1), then fires --commands
signed `/nz` commands at once from as many threads (a mix of `match <id>`,
`preview <set>`, `jobs`, `help` and `link <set>`), and prints the ack latency
distribution for each round and over all rounds.

    PYTHONPATH=. python bench/ack_latency.py
    PYTHONPATH=. python bench/ack_latency.py --commands 100 --alma-latency 4 --rounds 5
    PYTHONPATH=. python bench/ack_latency.py --socket   # Socket Mode: envelopes over the socket

With --socket the bot runs in Socket Mode (bot/socket_mode.py) against the stand-in's side of
the socket (SocketModeSlack); the burst is sent as fast as one connection carries it, and
the latency is from sending each envelope to its ack.

The clients run in this process next to the bot, so the figures include their share of
the GIL: a real Slack is, if anything, kinder. Every wait is bounded (HTTP timeouts,
thread joins), and everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.common import percentile  # noqa: E402

from alma.config import AlmaSettings  # noqa: E402
from alma.simulator import Simulator, seed  # noqa: E402
from bot.app import create_bot  # noqa: E402
from bot.server import SlackHttpServer  # noqa: E402
from nzbot.settings import BotSettings  # noqa: E402
from bot.demo.slack_requests import post_signed, slash_command_body  # noqa: E402
from bot.demo.local_slack import SlackStub  # noqa: E402
from tests.slack.socket_mode import SocketModeSlack  # noqa: E402

API_KEY = "bench-key"
BOT_TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
REPORT = "CREPORT01"
CATALOGER = "UCATALOG1"
PM = "UPROGMGR1"
BOT_USER = "UNZBOT001"
APP_TOKEN = "xapp-1-bench-app-token"
SLACK_LIMIT = 3.0  # seconds Slack waits for an ack
# Commands whose whole answer is the ack (bot/listeners/commands/{nz,jobs}.py): nothing
# comes to their response_url; every other command answers there after the ack.
ANSWERED_IN_ACK = ("help", "jobs")
HTTP_TIMEOUT = 10.0  # per command; a lost ack counts as an error, never hangs the run


@dataclass
class Sent:
    kind: str
    latency: float | None  # None: no answer (timeout, connection error)
    status: int | None
    error: str = ""
    name: str = ""  # its response_url's name on the stub


def command_mix() -> list[tuple[str, str]]:
    """(kind, text) for each kind of command, cycled through by the senders."""
    return [
        ("match", f"match {seed.CASES['unique']}"),
        ("preview", f"preview {seed.SETS['link_test']}"),
        ("jobs", "jobs"),
        ("help", "help"),
        ("link", f"link {seed.SETS['link_test']}"),
        ("match", f"match {seed.CASES['multi']}"),
        ("preview", f"preview {seed.SETS['unlinked']}"),
    ]


def send_burst(url: str, stub: SlackStub, n: int, round_no: int) -> list[Sent]:
    mix = command_mix()
    results: list[Sent | None] = [None] * n
    barrier = threading.Barrier(n, timeout=30)

    def one(i: int) -> None:
        kind, text = mix[i % len(mix)]
        name = f"round{round_no}-{i}"
        body = slash_command_body(text, user_id=CATALOGER, channel_id=REPORT, response_url=stub.response_url(name))
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # send anyway; the burst is a little less simultaneous
        started = time.perf_counter()
        try:
            answer = post_signed(url, body, SECRET, timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            results[i] = Sent(kind, None, None, type(exc).__name__, name)
            return
        results[i] = Sent(kind, time.perf_counter() - started, answer.status_code, name=name)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30 + HTTP_TIMEOUT + 5
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    return [r if r is not None else Sent("?", None, None, "did not finish") for r in results]


def send_burst_over_socket(socket: SocketModeSlack, stub: SlackStub, n: int, round_no: int) -> list[Sent]:
    mix = command_mix()
    envelopes = [socket.send_slash_command("/nz", mix[i % len(mix)][1], user_id=CATALOGER, channel_id=REPORT,
                                           response_url=stub.response_url(f"round{round_no}-{i}"))
                 for i in range(n)]
    results = []
    for i, envelope in enumerate(envelopes):
        kind = mix[i % len(mix)][0]
        try:
            ack = socket.wait_ack(envelope, timeout=HTTP_TIMEOUT)
        except AssertionError:
            results.append(Sent(kind, None, None, "no ack", f"round{round_no}-{i}"))
            continue
        results.append(Sent(kind, ack.seconds, 200, name=f"round{round_no}-{i}"))
    return results


def summary(label: str, sent: list[Sent]) -> str:
    answered = sorted(s.latency for s in sent if s.latency is not None and s.status == 200)
    failed = [s for s in sent if s.latency is None or s.status != 200]
    over = sum(1 for s in sent if s.latency is None or s.latency > SLACK_LIMIT)
    if not answered:
        return f"{label:<9} count {len(sent):>4}  no successful acks; {len(failed)} failed"
    ms = lambda v: f"{v * 1000:7.1f}"  # noqa: E731
    return (
        f"{label:<9} count {len(sent):>4}  min {ms(answered[0])}  p50 {ms(percentile(answered, 50))}  "
        f"p90 {ms(percentile(answered, 90))}  p99 {ms(percentile(answered, 99))}  "
        f"max {ms(answered[-1])}  (ms)  over {SLACK_LIMIT:g} s: {over}  failed: {len(failed)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=50, help="commands sent at once per round (50)")
    parser.add_argument("--alma-latency", type=float, default=2.0, help="seconds added to every Alma call (2.0)")
    parser.add_argument("--rounds", type=int, default=3, help="bursts to send (3)")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between rounds (1.0)")
    parser.add_argument("--drain", type=float, default=0.0,
                        help="after the last round, wait up to this many seconds for the delayed "
                             "answers (response_url) and report how many came (0: don't wait)")
    parser.add_argument("--socket", action="store_true", help="Socket Mode instead of HTTP")
    args = parser.parse_args(argv)
    if not 1 <= args.commands <= 500 or not 1 <= args.rounds <= 50 or args.alma_latency < 0:
        parser.error("--commands must be 1..500, --rounds 1..50, --alma-latency >= 0")

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="nzbot-ack-bench-"))
    sim = stub = bot = server = socket = handler = None
    try:
        sim = Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=1.0, seed=1).start()
        stub = SlackStub(
            bot_token=BOT_TOKEN, bot_user_id=BOT_USER,
            users={CATALOGER: {"name": "cataloger"}, PM: {"name": "program.manager"}},
            channels={REPORT: {"name": "nz-report", "members": [BOT_USER, CATALOGER, PM]}},
        ).start()
        settings = BotSettings(
            alma=AlmaSettings(api_key=API_KEY, api_url=sim.base_url, nz_sru_url=sim.sru_url,
                              timeout_seconds=max(30.0, args.alma_latency * 3), max_retries=1,
                              quota_floor=0),
            bot_token=BOT_TOKEN, signing_secret=SECRET, slack_api_url=stub.api_url,
            app_token=APP_TOKEN if args.socket else "",
            report_channel=REPORT, pm_users=(PM,), db_path=str(workdir / "nzbot.db"),
        )
        bot = create_bot(settings)
        if args.socket:
            from bot.socket_mode import SocketModeHandler

            socket = SocketModeSlack(stub, APP_TOKEN).start()
            handler = SocketModeHandler(bot.app, APP_TOKEN)
            handler.connect()
            socket.wait_connected()
            where = "Socket Mode"
        else:
            server = SlackHttpServer(bot.app, host="127.0.0.1", port=0).start()
            where = server.url
        sim.faults.latency = args.alma_latency

        print(f"nzbot ack latency: {args.commands} /nz commands at once x {args.rounds} rounds, "
              f"every Alma call delayed {args.alma_latency:g} s; bot at {where}")
        everything: list[Sent] = []
        for r in range(1, args.rounds + 1):
            calls_before = sim.total_calls
            sent = (send_burst_over_socket(socket, stub, args.commands, r) if socket is not None
                    else send_burst(server.url, stub, args.commands, r))
            everything.extend(sent)
            print(summary(f"round {r}", sent) + f"  [Alma calls begun during the burst: {sim.total_calls - calls_before}]",
                  flush=True)
            if r < args.rounds:
                time.sleep(args.pause)
        print(summary("overall", everything))
        by_kind: dict[str, list[Sent]] = defaultdict(list)
        for s in everything:
            by_kind[s.kind].append(s)
        for kind in sorted(by_kind):
            print("  " + summary(kind, by_kind[kind]))
        errors = sorted({s.error or f"HTTP {s.status}" for s in everything if s.latency is None or s.status != 200})
        if errors:
            print("errors: " + ", ".join(errors))
        # Counted by command, not by post: a long preview also posts its progress there.
        expected = {s.name for s in everything if s.kind not in ANSWERED_IN_ACK and s.status == 200}

        def answered() -> int:
            return len(expected & {c.name for c in stub.responses()})

        drain_started = time.monotonic()
        while time.monotonic() - drain_started < args.drain and answered() < len(expected):
            time.sleep(0.2)
        waited = f" after waiting {time.monotonic() - drain_started:.1f} s" if args.drain else ""
        print(f"delayed answers posted to response_url{waited}: {answered()} of {len(expected)} commands "
              f"(the Alma work runs after the ack; {', '.join(ANSWERED_IN_ACK)} answer in the ack)")
        return 0 if not errors else 1
    finally:
        # Let work still running finish quickly, then stop everything that was started.
        if sim is not None:
            sim.faults.latency = 0.0
        if server is not None:
            server.stop()
        if handler is not None:
            handler.close()
        if socket is not None:
            socket.stop()
        if bot is not None:
            bot.stop()
            bot.services.work.join(15)  # stop() cancelled queued work; running work gets a bounded wait
        if stub is not None:
            stub.stop()
        if sim is not None:
            sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
