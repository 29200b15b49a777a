"""bot.server over real HTTP: signed requests reach Bolt listeners, others get 401."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.server import SlackHttpServer
from bot.demo.slack_requests import (
    block_action_payload,
    interaction_body,
    post_signed,
    sign,
    slash_command_body,
)
from tests.slack.faults import SlackStub

TOKEN = "xoxb-test"
SECRET = "secret"


@pytest.fixture(scope="module")
def stub():
    with SlackStub(
        bot_token=TOKEN,
        users={"U_CAT": {"name": "cat"}, "U_PM": {"real_name": "Pat Manager"}},
        channels={"C_REPORT": {"name": "nz-report"}},
    ) as s:
        yield s


class Seen:
    """What the test app's listeners saw, shared with the test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.commands: list[dict] = []
        self.actions: list[dict] = []

    def add(self, kind: str, item: dict) -> None:
        with self.lock:
            getattr(self, kind).append(item)


@pytest.fixture(scope="module")
def seen():
    return Seen()


@pytest.fixture(scope="module")
def app(stub, seen):
    app = App(
        token=TOKEN,
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=stub.api_url),
        token_verification_enabled=False,
        request_verification_enabled=True,
        # Bolt's default is 5 threads; listeners that work after ack() would delay other acks.
        listener_executor=ThreadPoolExecutor(max_workers=64),
    )

    @app.command("/nz")
    def nz(ack, command, client, respond):
        ack(f"Looking up {command['text']}")
        seen.add("commands", command)
        if command["text"].startswith("slow"):
            time.sleep(0.3)  # Alma work after the ack
        client.chat_postMessage(channel=command["channel_id"], text=f"nz {command['text']}: done")
        if command["response_url"].startswith(stub.base_url):
            respond(text=f"finished {command['text']}", replace_original=False)

    @app.action("link_record")
    def link(ack, body, action, client):
        ack()
        seen.add("actions", body)
        client.chat_update(
            channel=body["container"]["channel_id"],
            ts=body["container"]["message_ts"],
            text=f"Linked {action['value']}",
        )

    return app


@pytest.fixture(scope="module")
def server(app):
    srv = SlackHttpServer(app, host="127.0.0.1", port=0).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fresh(stub, seen):
    stub.reset()
    with seen.lock:
        seen.commands.clear()
        seen.actions.clear()


def test_signatures_are_what_slack_sdk_expects():
    body = slash_command_body("991234")
    headers = sign(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    # trigger ids are unique by default
    assert slash_command_body("x") != slash_command_body("x")


def test_signed_slash_command_is_acked_and_listener_posts(server, stub, seen):
    response_url = stub.response_url("cmd")
    body = slash_command_body("991234", response_url=response_url)
    r = post_signed(server.url, body, SECRET)
    assert r.status_code == 200
    assert r.text == "Looking up 991234"  # Bolt answers ack("...") as plain text
    call = stub.wait_for("chat.postMessage", lambda c: c.args["text"] == "nz 991234: done")
    assert call.args["channel"] == "C_REPORT"
    assert stub.messages("C_REPORT")[-1]["text"] == "nz 991234: done"
    reply = stub.wait_for("response_url", lambda c: c.name == "cmd")
    assert reply.args["text"] == "finished 991234"
    assert seen.commands[0]["user_id"] == "U_CAT"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param({"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}, id="bad-signature"),
        pytest.param("wrong-secret", id="signed-with-another-secret"),
        pytest.param("stale", id="six-minutes-old"),
    ],
)
def test_unverified_requests_get_401_and_never_run(server, stub, seen, headers, caplog):
    caplog.set_level(logging.INFO)
    body = slash_command_body("SECRET-MARKER-991234")
    if headers == "wrong-secret":
        r = post_signed(server.url, body, "not-the-secret")
    elif headers == "stale":
        r = post_signed(server.url, body, SECRET, timestamp=int(time.time()) - 6 * 60)
    else:
        r = requests.post(
            server.url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            timeout=10,
        )
    assert r.status_code == 401
    time.sleep(0.2)  # give a (wrongly) started listener the time to show up
    assert seen.commands == []
    assert stub.calls("chat.postMessage") == []
    # Bolt logs the raw body of refused requests at INFO; the server keeps that quiet.
    assert "SECRET-MARKER" not in caplog.text


def test_block_action_is_dispatched(server, stub, seen):
    posted = WebClient(token=TOKEN, base_url=stub.api_url).chat_postMessage(channel="C_REPORT", text="2 matches")
    payload = block_action_payload(
        "link_record",
        "991234",
        user_id="U_PM",
        channel_id="C_REPORT",
        message_ts=posted["ts"],
        response_url=stub.response_url("act"),
    )
    r = post_signed(server.url, interaction_body(payload), SECRET, retry_num=1, retry_reason="http_timeout")
    assert r.status_code == 200
    stub.wait_for("chat.update", lambda c: c.ok)
    assert stub.messages("C_REPORT")[0]["text"] == "Linked 991234"
    assert seen.actions[0]["user"]["id"] == "U_PM"


def test_fifty_concurrent_commands_are_all_acked_in_time(server, stub, seen):
    n = 50
    barrier = threading.Barrier(n)

    def send(i: int) -> tuple[int, float]:
        body = slash_command_body(f"slow-{i}")
        barrier.wait()
        started = time.monotonic()
        r = post_signed(server.url, body, SECRET, timeout=10)
        return r.status_code, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(send, range(n)))
    latencies = sorted(latency for _, latency in results)
    print(
        f"\n{n} concurrent /nz acks: min {latencies[0]:.3f}s, median {latencies[n // 2]:.3f}s, "
        f"max {latencies[-1]:.3f}s"
    )
    assert [status for status, _ in results] == [200] * n
    assert latencies[-1] < 3.0, latencies
    # every listener ran and posted
    deadline = time.monotonic() + 10
    while len(stub.calls("chat.postMessage")) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = {c.args["text"] for c in stub.calls("chat.postMessage")}
    assert texts == {f"nz slow-{i}: done" for i in range(n)}


def test_health_404_and_wrong_method(server):
    base = server.url.rsplit("/slack/events", 1)[0]
    r = requests.get(base + "/health", timeout=5)
    assert r.status_code == 200 and r.text == "ok"
    assert requests.get(base + "/nowhere", timeout=5).status_code == 404
    assert requests.post(base + "/nowhere", data="x", timeout=5).status_code == 404
    assert requests.get(server.url, timeout=5).status_code == 405


def test_oversize_body_is_refused(server, seen):
    body = slash_command_body("x" * (1024 * 1024 + 10))
    r = post_signed(server.url, body, SECRET)
    assert r.status_code == 413
    assert seen.commands == []


def test_oversize_declared_length_is_refused_without_reading(server):
    # A client that announces 2 MB gets 413 at once, before sending any of it.
    host, port = "127.0.0.1", server.port
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\n"
        )
        reply = sock.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 413")


def test_url_verification_and_ssl_check(server):
    challenge = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    r = post_signed(server.url, challenge, SECRET, content_type="application/json")
    assert r.status_code == 200 and "abc123" in r.text
    r = post_signed(server.url, "ssl_check=1&token=t", SECRET)
    assert r.status_code == 200


def test_stop_frees_the_port(app):
    srv = SlackHttpServer(app, host="127.0.0.1", port=0).start()
    assert requests.get(srv.url.replace("/slack/events", "/health"), timeout=5).status_code == 200
    srv.stop()
    srv.stop()  # twice is fine
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url.replace("/slack/events", "/health"), timeout=2)


def test_serve_forever_blocks_until_stopped(app):
    srv = SlackHttpServer(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    health = srv.url.replace("/slack/events", "/health")
    deadline = time.monotonic() + 5
    while True:
        try:
            assert requests.get(health, timeout=2).text == "ok"
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert thread.is_alive()
    srv.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_url_uses_loopback_for_wildcard_host(app):
    srv = SlackHttpServer(app, port=0)
    try:
        assert srv.url == f"http://127.0.0.1:{srv.port}/slack/events"
    finally:
        srv.stop()
