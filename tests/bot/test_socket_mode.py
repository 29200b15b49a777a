"""Socket Mode end to end: a real `nzbot run` with SLACK_APP_TOKEN and no signing secret,
the Alma simulator behind it, and the local Slack stand-in playing Slack's side of the
socket (tests/slack/socket_mode.py, SocketModeSlack): apps.connections.open with the app
token, hello, envelopes for /nz and a button press acked within Slack's 3 seconds, a
`disconnect` and a dropped connection after which the bot reconnects with a new URL and
handles what comes next, and a delivery whose ack was lost redelivered and done once."""

from __future__ import annotations

import json

import pytest
import requests

from alma.simulator import seed
from bot import action_ids
from tests.slack.socket_mode import SOCKET_ACK_SECONDS, Envelope, SocketModeSlack
from tests.bot.conftest import block_text
from tests.bot.subprocess_bot import (CATALOGER, REPORT, SubprocessBot, free_port,
                                      wait_until)
from tests.bot.subprocess_bot import stub  # noqa: F401 (a fixture)

APP_TOKEN = "xapp-1-A0NZBOT-5150-3d1f0c9e8b7a6f5e4d3c2b1a"


class SocketModeBot(SubprocessBot):
    """`nzbot run` in Socket Mode: ready once it has connected to the stand-in's socket."""

    def __init__(self, socket: SocketModeSlack, *args, **kwargs) -> None:
        super().__init__(*args, extra_env={"SLACK_APP_TOKEN": APP_TOKEN}, **kwargs)
        del self.env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
        self.socket = socket

    def ready(self, new_log: str) -> bool:
        return bool(self.socket.open_connections())

    def command(self, text: str, **kwargs) -> tuple[Envelope, str]:  # type: ignore[override]
        name = f"r{len(self.socket.envelopes())}"
        envelope = self.socket.send_slash_command("/nz", text, user_id=CATALOGER, channel_id=REPORT,
                                                  response_url=self.stub.response_url(name), **kwargs)
        return envelope, name

    def press(self, action_id: str, value: str, **kwargs) -> tuple[Envelope, str]:
        name = f"click{len(self.socket.envelopes())}"
        envelope = self.socket.send_block_action(
            action_id, value, user_id=CATALOGER, channel_id=REPORT,
            response_url=self.stub.response_url(name), **kwargs)
        return envelope, name


def socket_for(stub, **options) -> SocketModeSlack:
    return SocketModeSlack(stub, APP_TOKEN, **options).start()


@pytest.fixture
def socket(stub):
    s = socket_for(stub)
    yield s
    s.stop()


@pytest.fixture
def bot(sim, stub, socket, tmp_path):
    b = SocketModeBot(socket, sim, stub, tmp_path)
    yield b
    b.stop()


def acked_in_time(bot: SocketModeBot, envelope: Envelope):
    ack = bot.socket.wait_ack(envelope)
    assert ack.seconds < SOCKET_ACK_SECONDS, f"acked after {ack.seconds:.2f}s"
    return ack


def answered(bot: SocketModeBot, name: str) -> str:
    call = bot.stub.wait_for("response_url", lambda c: c.name == name, timeout=15)
    return block_text(call.args)


def urls_issued(stub) -> int:
    """How many times apps.connections.open gave a URL."""
    return len([c for c in stub.calls("apps.connections.open") if c.ok])


def assert_clean(bot: SocketModeBot) -> None:
    """The bot acked nothing Slack did not send (not hello, not disconnect) and never
    logged the app token."""
    assert bot.socket.unknown_acks() == []
    assert APP_TOKEN not in bot.log()


def test_connects_with_the_app_token_and_answers_slash_commands(bot):
    bot.start()
    opened = bot.stub.calls("apps.connections.open")
    assert [c.ok for c in opened] == [True]  # one URL, one connection (a Tier 1 method)
    assert opened[0].headers.get("Authorization") == f"Bearer {APP_TOKEN}"
    assert len(bot.socket.connections()) == 1

    help_env, _ = bot.command("help")
    ack = acked_in_time(bot, help_env)
    assert "/nz link" in block_text(ack.payload or {})  # the answer rides on the ack

    match_env, name = bot.command(f"match {seed.CASES['multi_language']}")
    acked_in_time(bot, match_env)
    assert seed.CASES["multi_language"] in answered(bot, name)
    # the bot's Web API calls use the bot token; the app token is for the socket only
    assert all(c.headers.get("Authorization") != f"Bearer {APP_TOKEN}"
               for c in bot.stub.calls() if c.method != "apps.connections.open")
    assert_clean(bot)


def test_a_button_press_is_acked_and_acted_on(bot):
    bot.start()
    iz = seed.CASES["multi_language"]
    envelope, name = bot.press(action_ids.SEND_TO_PM, iz)
    acked_in_time(bot, envelope)
    assert "went to the Program Manager" in answered(bot, name)
    case = bot.store.open_case_for(iz)
    assert case is not None and len(case.candidates) == 2
    wait_until(lambda: bot.store.case_messages(case.id), what="the Program Manager's case message")
    assert_clean(bot)


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_after_a_disconnect_the_bot_reconnects_and_handles_the_next_envelope(bot, reason):
    bot.start()
    first = bot.socket.wait_connected(1)
    bot.socket.disconnect(reason)
    second = bot.socket.wait_connected(2)
    assert urls_issued(bot.stub) == 2  # a new URL: the old one's ticket is spent
    # Slack delivers on the new connection as soon as it is open
    envelope, name = bot.command(f"match {seed.CASES['unique']}")
    acked_in_time(bot, envelope)
    assert envelope.connection >= second.number
    assert seed.CASES["unique"] in answered(bot, name)
    # the bot closes the old connection itself, before Slack would (10 s after a disconnect)
    assert bot.socket.wait_closed(first, timeout=8).closed_by == "app"
    assert_clean(bot)


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "fin"])
def test_after_a_dropped_connection_the_bot_reconnects_and_handles_the_next_envelope(bot, reset):
    bot.start()
    bot.socket.wait_connected(1)
    bot.socket.drop(reset=reset)
    bot.socket.wait_connected(2, timeout=15)
    assert urls_issued(bot.stub) == 2
    envelope, name = bot.command(f"match {seed.CASES['unique']}")
    acked_in_time(bot, envelope)
    assert seed.CASES["unique"] in answered(bot, name)
    assert_clean(bot)


@pytest.fixture
def retrying_bot(sim, stub, tmp_path):
    # Slack retries unacked Events API envelopes by itself; nzbot takes no events, so the
    # stand-in retries commands and clicks the same way: a duplicate delivery, the worst case.
    socket = socket_for(stub, retry_kinds=("events_api", "slash_commands", "interactive"))
    b = SocketModeBot(socket, sim, stub, tmp_path)
    yield b
    b.stop()
    socket.stop()


def retried_and_acked(bot: SocketModeBot, envelope: Envelope) -> None:
    """Slack sent the payload again on the new connection, and that delivery was acked in time."""
    deliveries = wait_until(lambda: len(bot.socket.envelopes(envelope.first_id)) >= 2 and
                            bot.socket.envelopes(envelope.first_id), timeout=15, what="a retry")
    retry = deliveries[1]
    assert (retry.retry_attempt, retry.retry_reason) == (1, "timeout")
    assert retry.envelope_id != envelope.envelope_id and retry.payload == envelope.payload
    ack = bot.socket.wait_ack(retry)
    assert ack.envelope is retry and ack.seconds < SOCKET_ACK_SECONDS
    assert ack.connection > envelope.connection


@pytest.mark.parametrize("lost", ["envelope", "ack"])
def test_a_link_command_lost_with_the_connection_is_redelivered_and_run_once(sim, retrying_bot, lost):
    bot = retrying_bot
    bot.start()
    envelope, name = bot.command(f"link {seed.SETS['link_test']}",
                                 then_drop=lost == "envelope", lose_ack=lost == "ack")
    if lost == "ack":
        wait_until(bot.socket.lost_acks, what="the bot's ack, lost with the connection")
        retried_and_acked(bot, envelope)
    else:  # the bot acks on its new connection if it read the envelope, else acks the retry
        assert bot.socket.wait_ack(envelope, timeout=15).seconds < SOCKET_ACK_SECONDS
    assert "has started" in answered(bot, name) or "queued" in answered(bot, name)
    wait_until(lambda: [j for j in bot.store.link_jobs() if j.message_ts], what="the start message")
    wait_until(lambda: sim.state.runs, what="Alma's job run")
    assert len(bot.store.link_jobs()) == 1 and len(sim.state.runs) == 1
    assert len(bot.stub.responses(name)) == 1
    assert len([m for m in bot.stub.messages(REPORT) if not m.get("thread_ts")]) == 1
    assert_clean(bot)


def test_a_button_press_whose_ack_was_lost_is_redelivered_and_done_once(retrying_bot):
    bot = retrying_bot
    bot.start()
    iz = seed.CASES["multi_language"]
    envelope, name = bot.press(action_ids.SEND_TO_PM, iz, lose_ack=True)
    wait_until(bot.socket.lost_acks, what="the bot's ack, lost with the connection")
    retried_and_acked(bot, envelope)
    assert "went to the Program Manager" in answered(bot, name)
    case = bot.store.open_case_for(iz)
    wait_until(lambda: bot.store.case_messages(case.id), what="the Program Manager's case message")
    assert len(bot.store.cases()) == 1
    assert len(bot.store.case_messages(case.id)) == 1
    assert len(bot.stub.responses(name)) == 1
    assert_clean(bot)


# -- the stand-in itself: Slack's rules for the app-level token, URLs and retries -----------


def test_apps_connections_open_takes_only_the_app_token_in_the_header(stub, socket):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(base_url=stub.api_url)
    for token, error in ((None, "not_authed"), ("xoxb-subprocess-token-7f3a1b", "not_allowed_token_type"),
                         ("xapp-1-someone-elses", "invalid_auth")):
        with pytest.raises(SlackApiError) as refused:
            client.apps_connections_open(app_token=token or "")
        assert refused.value.response["error"] == error
    answer = requests.post(f"{stub.api_url}apps.connections.open", data={"token": APP_TOKEN}, timeout=5)
    assert answer.json() == {"ok": False, "error": "not_authed"}  # not as a POST parameter
    url = client.apps_connections_open(app_token=APP_TOKEN)["url"]
    assert url.startswith(f"ws://127.0.0.1:{socket.port}/link/?ticket=")


def test_each_url_serves_one_connection_and_says_hello(stub, socket):
    from slack_sdk import WebClient
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = WebClient(base_url=stub.api_url).apps_connections_open(app_token=APP_TOKEN)["url"]
    with connect(url) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": stub.app_id}
        with pytest.raises(InvalidStatus) as refused, connect(url):
            pass
        assert refused.value.response.status_code == 401


def test_an_unacked_event_is_retried_three_times_and_a_command_is_not(stub):
    from slack_sdk import WebClient
    from websockets.sync.client import connect

    socket = socket_for(stub, ack_seconds=0.2)
    try:
        url = WebClient(base_url=stub.api_url).apps_connections_open(app_token=APP_TOKEN)["url"]
        with connect(url) as ws:
            ws.recv(timeout=5)  # hello
            socket.wait_connected()
            event = socket.send("events_api", {"type": "event_callback", "event_id": "Ev1"})
            socket.send_slash_command("/nz", "help", user_id=CATALOGER, channel_id=REPORT,
                                      response_url=stub.response_url())
            frames = [json.loads(ws.recv(timeout=5)) for _ in range(5)]
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.6)  # no fourth retry, and no retry of the command
    finally:
        socket.stop()
    events = [f for f in frames if f["type"] == "events_api"]
    assert [(f["retry_attempt"], f["retry_reason"]) for f in events] == [
        (0, ""), (1, "timeout"), (2, "timeout"), (3, "timeout")]
    assert len({f["envelope_id"] for f in events}) == 4
    assert all(f["payload"] == event.payload and f["accepts_response_payload"] is False for f in events)
    command = [f for f in frames if f["type"] == "slash_commands"]
    assert len(command) == 1 and command[0]["accepts_response_payload"] is True
    assert "retry_attempt" not in command[0]  # Slack puts retry fields on events only
    assert all(e.timed_out for e in socket.envelopes())


def test_an_app_token_slack_refuses_stops_start_up_with_one_clear_line(sim, stub, socket, tmp_path):
    wrong = "xapp-1-A0NZBOT-0000-revoked0token0value00"
    bot = SocketModeBot(socket, sim, stub, tmp_path)
    bot.env["SLACK_APP_TOKEN"] = wrong
    with pytest.raises(AssertionError, match="exited with 2"):
        bot.start()
    assert "nzbot: Slack refused SLACK_APP_TOKEN (invalid_auth)" in bot.log()
    assert "Traceback" not in bot.log() and wrong not in bot.log()
    assert socket.connections() == []


def test_a_slack_it_cannot_reach_stops_start_up_with_one_line(sim, stub, socket, tmp_path):
    bot = SocketModeBot(socket, sim, stub, tmp_path)
    bot.env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    with pytest.raises(AssertionError, match="exited with 1"):
        bot.start()
    assert "nzbot: could not connect to Slack in Socket Mode" in bot.log()
    assert "Traceback" not in bot.log()


def test_a_connection_gone_silent_is_found_by_pings_and_replaced(sim, stub, socket, tmp_path):
    # In process, to ping every half second (nzbot run pings every 10 s, 10 s to answer).
    from bot.app import create_bot
    from bot.socket_mode import SocketModeHandler
    from nzbot.settings import BotSettings
    from tests.bot.subprocess_bot import BOT_TOKEN, PM
    from tests.conftest import settings_for

    settings = BotSettings(alma=settings_for(sim), bot_token=BOT_TOKEN, app_token=APP_TOKEN,
                           slack_api_url=stub.api_url, report_channel=REPORT, pm_users=(PM,),
                           db_path=str(tmp_path / "nzbot.db"))
    bot = create_bot(settings, start_scheduler=False)
    handler = SocketModeHandler(bot.app, APP_TOKEN, ping_interval=0.5)
    try:
        handler.connect()
        socket.wait_connected(1)
        socket.stall()
        second = socket.wait_connected(2, timeout=10)
        assert urls_issued(stub) == 2
        envelope = socket.send_slash_command("/nz", "help", user_id=CATALOGER, channel_id=REPORT,
                                             response_url=stub.response_url())
        ack = socket.wait_ack(envelope)
        assert ack.connection == second.number and ack.seconds < SOCKET_ACK_SECONDS
    finally:
        handler.close()
        bot.stop()
