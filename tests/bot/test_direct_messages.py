"""A message typed to the bot in its Messages tab gets the help, not silence (issue 23);
the bot's own posts there (the Program Manager's case messages) are never answered."""

from __future__ import annotations

import json
import time

import pytest

from bot.demo.slack_requests import JSON, post_signed
from tests.bot.conftest import CATALOGER, PM, SECRET, block_text


def typed(harness, user: str, channel: str, **extra):
    event = {"type": "message", "channel_type": "im", "user": user, "channel": channel, "text": "hello?",
             "ts": f"{time.time():.6f}", "event_ts": f"{time.time():.6f}", **extra}
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A_NZBOT",
                       "token": "verification-token", "event_id": f"Ev{time.monotonic_ns()}",
                       "event_time": int(time.time()), "event": event})
    return post_signed(harness.server.url, body, SECRET, content_type=JSON)


@pytest.mark.parametrize("user", [PM, CATALOGER])
def test_a_message_typed_to_the_bot_is_answered_with_the_help(harness, user):
    harness.start()
    dm = f"D{user[1:]}"
    assert typed(harness, user, dm).status_code == 200
    call = harness.stub.wait_for("chat.postMessage", lambda c: c.args.get("channel") == dm)
    said = block_text(call.args)
    assert "I answer the `/nz` command, not messages" in said and "/nz match" in said


def test_the_bots_own_messages_and_edits_there_are_not_answered(harness):
    harness.start()
    dm = f"D{PM[1:]}"
    assert typed(harness, PM, dm, bot_id="B_NZBOT").status_code == 200
    assert typed(harness, PM, dm, subtype="message_changed").status_code == 200
    assert typed(harness, PM, dm, thread_ts="1.000001").status_code == 200
    assert typed(harness, CATALOGER, f"D{CATALOGER[1:]}").status_code == 200  # a marker: this one is answered
    harness.stub.wait_for("chat.postMessage", lambda c: c.args.get("channel") == f"D{CATALOGER[1:]}")
    time.sleep(0.3)
    assert not [c for c in harness.stub.calls("chat.postMessage") if c.args.get("channel") == dm]
