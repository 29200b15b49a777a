"""manifest.yml against what the bot does: /nz's usage hint names every subcommand, and a
message typed in the Messages tab reaches the bot (issue 23)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.access import NZ, RULES

MANIFEST = (Path(__file__).resolve().parents[1] / "manifest.yml").read_text(encoding="utf-8")
# Slack's app manifest reference gives usage_hint at most 1,000 characters; the hint is kept
# far shorter, as Slack shows it on one line under the command while it is typed.
USAGE_HINT_LIMIT = 1000


def usage_hint() -> str:
    (quoted,) = re.findall(r"^\s*usage_hint:\s*(\".*\")\s*$", MANIFEST, re.M)
    return json.loads(quoted)


def test_the_usage_hint_names_every_subcommand_within_slacks_limit():
    hint = usage_hint()
    assert len(hint) <= 200 < USAGE_HINT_LIMIT
    named = {part.strip().split()[0] for part in hint.split("|")}
    subcommands = {surface.removeprefix(f"{NZ} ") for surface in RULES if surface.startswith(f"{NZ} ")}
    assert named == subcommands
    assert "cases [N] | cases csv" in hint and "weekly DAY HH:MM" in hint


def test_a_message_typed_to_the_bot_is_subscribed_to_with_its_scope():
    events = MANIFEST.split("bot_events:", 1)[1].split("interactivity:", 1)[0]
    assert re.search(r"^\s*- message\.im\b", events, re.M)
    assert re.search(r"^\s*- im:history\b", MANIFEST, re.M)
    assert re.search(r"^\s*messages_tab_read_only_enabled: false\b", MANIFEST, re.M)
    assert "message.im" in RULES
