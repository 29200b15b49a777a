"""Slack's limits, as the local stand-in enforces them: posts beyond about one a second
per channel are refused with 429 and Retry-After; the bot's client waits the Retry-After
out on every call, paces posts per channel, and says so once per throttled stretch."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_client import PacedWebClient
from tests.slack.faults import SlackStub

TOKEN = "xoxb-test"
CHANNELS = {"CREPORT01": {"name": "nz-report"}, "COTHER001": {"name": "random"}}


@pytest.fixture
def stub():
    with SlackStub(bot_token=TOKEN, channels=CHANNELS) as slack:
        yield slack


def refused(stub) -> list:
    return [c for c in stub.calls("chat.postMessage") if c.status == 429]


def test_the_stand_in_refuses_posts_beyond_slacks_pace_with_retry_after(stub):
    stub.enforce_rate_limit(posts_per_second=1.0, burst=3)
    plain = WebClient(token=TOKEN, base_url=stub.api_url, retry_handlers=[])
    for n in range(3):  # a short burst is allowed
        plain.chat_postMessage(channel="CREPORT01", text=f"burst {n}")
    with pytest.raises(SlackApiError) as refusal:
        plain.chat_postMessage(channel="CREPORT01", text="one too many")
    assert refusal.value.response.status_code == 429
    assert refusal.value.response["error"] == "ratelimited"
    assert int(refusal.value.response.headers["Retry-After"]) >= 1
    plain.chat_postMessage(channel="COTHER001", text="another channel has its own pace")
    assert [m["text"] for m in stub.messages("CREPORT01")] == ["burst 0", "burst 1", "burst 2"]
    time.sleep(1.05)
    plain.chat_postMessage(channel="CREPORT01", text="a second later")
    assert len(stub.messages("CREPORT01")) == 4


def test_posts_to_one_channel_are_paced_and_none_is_refused(stub):
    stub.enforce_rate_limit(posts_per_second=5.0, burst=3)
    client = PacedWebClient(token=TOKEN, base_url=stub.api_url, posts_per_second=5.0, burst=3)
    started = time.monotonic()

    def post(prefix: str) -> None:
        for n in range(6):
            client.chat_postMessage(channel="CREPORT01", text=f"{prefix}{n}")

    threads = [threading.Thread(target=post, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - started
    texts = sorted(m["text"] for m in stub.messages("CREPORT01"))
    assert texts == sorted(f"{p}{n}" for p in "ab" for n in range(6))  # each once
    assert elapsed >= (12 - 3) / 5.0  # 3 at once, then (a little under) 5 a second
    assert refused(stub) == []  # paced under the limit


def test_a_refused_call_waits_retry_after_and_one_warning_covers_the_stretch(stub, caplog):
    client = PacedWebClient(token=TOKEN, base_url=stub.api_url)
    stub.fail_next("chat.postMessage", "ratelimited", times=2, retry_after=1)
    stub.fail_next("chat.update", "ratelimited", times=1, retry_after=1)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    posted = client.chat_postMessage(channel="CREPORT01", text="after the wait")
    client.chat_update(channel="CREPORT01", ts=posted["ts"], text="edited after the wait")
    assert time.monotonic() - started >= 3.0  # three refusals, a Retry-After of 1 s each
    assert [m["text"] for m in stub.messages("CREPORT01")] == ["edited after the wait"]
    assert len(stub.calls("chat.postMessage")) == 3 and len(stub.calls("chat.update")) == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "rate-limiting" in r.message]
    assert len(warnings) == 1 and "Retry-After 1" in warnings[0].message
    # this client's records (the test's thread): an earlier test's bot, stopping, may log meanwhile
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.thread == threading.get_ident()]
    assert client.throttle.refused == 3
