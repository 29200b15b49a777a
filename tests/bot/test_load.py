"""A burst of slash commands against `nzbot run` in HTTP mode while Alma is slow: every one
is acknowledged within Slack's 3 seconds, however much slow work is already queued."""

from __future__ import annotations

import http.client
import threading
import time

import pytest
import requests

from alma.simulator import Simulator, seed
from bot.demo.slack_requests import sign, slash_command_body
from tests.bot.conftest import block_text
from tests.conftest import API_KEY
from tests.bot.subprocess_bot import CATALOGER, REPORT, SubprocessBot, make_stub, wait_until

BURST = 50
ACK_LIMIT = 3.0


@pytest.fixture
def slow_bot(tmp_path):
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = make_stub()
        bot = SubprocessBot(sim, stub, tmp_path, extra_env={"ALMA_TIMEOUT": "10"})
        try:
            bot.start()
            sim.faults.latency = 2.0  # every Alma answer takes 2 s
            yield bot
        finally:
            bot.stop()
            stub.stop()


def texts(n: int) -> list[str]:
    """A busy channel's mix: lookups and previews (slow work after the ack), a few link
    requests, and commands answered in the ack itself."""
    mix = [f"match {seed.CASES['unique']}", f"match {seed.CASES['multi']}", "match 41234567",
           f"preview {seed.SETS['link_test']}", "jobs", "help", "cases",
           f"match {seed.CASES['no_match']}", "frobnicate", f"link {seed.SETS['link_test']}"]
    return [mix[i % len(mix)] for i in range(n)]


def burst(bot: SubprocessBot, tag: str) -> list[tuple[str, int, float, str]]:
    """Sends BURST signed commands at the same moment, each on its own connection; returns
    (text, status, seconds from connect to answer, ack body) for each. http.client keeps the
    test's own side light, so the time measured is the bot's."""
    commands = texts(BURST)
    bodies = [slash_command_body(text, user_id=CATALOGER, channel_id=REPORT,
                                 response_url=bot.stub.response_url(f"{tag}{i}"))
              for i, text in enumerate(commands)]
    requests_ = [(body.encode(), sign(body, bot.secret)) for body in bodies]
    results: list = [None] * BURST
    gate = threading.Barrier(BURST)

    def send(i: int) -> None:
        data, headers = requests_[i]
        connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=30)
        gate.wait()
        started = time.monotonic()
        try:
            connection.request("POST", "/slack/events", body=data, headers=headers)
            answer = connection.getresponse()
            body = answer.read().decode()
            results[i] = (commands[i], answer.status, time.monotonic() - started, body)
        except OSError as exc:
            results[i] = (commands[i], -1, time.monotonic() - started, repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(BURST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def assert_all_acked_in_time(results) -> None:
    late = [(text, status, round(seconds, 2)) for text, status, seconds, _ in results
            if status != 200 or seconds >= ACK_LIMIT]
    assert late == [], f"{len(late)} of {BURST} not acked with 200 within {ACK_LIMIT}s: {late[:10]}"


def test_fifty_commands_at_once_are_all_acked_within_three_seconds(slow_bot):
    first = burst(slow_bot, "a")
    assert_all_acked_in_time(first)
    acks = {text: body for text, _, _, body in first}
    assert "/nz match" in acks["help"] and "frobnicate" in acks["frobnicate"]
    assert "Looking up" in acks[f"match {seed.CASES['unique']}"]
    # The first burst's slow work now fills the bot's workers (each lookup waits 2 s per
    # Alma call); a second burst must still be acked at once.
    second = burst(slow_bot, "b")
    assert_all_acked_in_time(second)
    # and the queued work is done, not dropped: answers keep arriving through response_url
    wait_until(lambda: len(slow_bot.stub.responses()) >= 10, timeout=30, what="answers after the acks")
    answered = [block_text(c.args) for c in slow_bot.stub.responses()]
    assert not [t for t in answered if "Something went wrong" in t]
    # the five link requests of each burst are five requests, recorded once each
    slow_bot.sim.faults.latency = 0.0
    wait_until(lambda: len(slow_bot.store.link_jobs()) == 10, timeout=40, what="ten link requests recorded")
    assert requests.get(f"http://127.0.0.1:{slow_bot.port}/health", timeout=2).status_code == 200
