"""What `nzbot run` logs while the bot is built: nothing that asks nothing of anyone."""

from __future__ import annotations

import logging

from bot.app import create_bot

from .conftest import BOT_TOKEN


def test_create_bot_does_not_log_bolts_token_will_be_unused(harness, monkeypatch, caplog):
    """Issue 23: every `nzbot run` logged Bolt's 'As you gave `client` as well, `token` will
    be unused.' (Bolt reads SLACK_BOT_TOKEN from the environment, which nzbot run always has)."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    with caplog.at_level(logging.DEBUG):
        bot = create_bot(harness.settings(), start_scheduler=False)
        bot.stop()
    said = [r.getMessage() for r in caplog.records]
    assert not [line for line in said if "will be unused" in line], said


def test_bolts_other_warnings_still_reach_the_log(caplog):
    """The filter drops that one line only."""
    with caplog.at_level(logging.WARNING):
        logging.getLogger("slack_bolt.App").warning("something else Bolt wants said")
    assert "something else Bolt wants said" in caplog.text
