"""Checks every rendered Slack message must pass: Slack's own block models, its limits,
and no unescaped outside text. Shared by the message tests."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from alma.cards import Publication, RecordCard
from bot import action_ids
from bot.rendering import Message

HOSTILE = "<!channel> & <http://evil|click> @here"
HUGE = "Lorem ipsum & dolor <sit> amet " * 170  # 5,270 characters, with entities to cut
LIMITS = {"section": 3000, "header": 150, "button": 75, "field": 2000, "context": 2000}
FALLBACK_LIMIT = 300
# Raw "<" only ever opens a token nzbot made: a mention, a date, a channel, a checked link.
OUR_TOKENS = ("<@U", "<@W", "<!date^", "<#C", "<https://", "<http://")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def all_text(message: Message) -> str:
    return "\n".join([message.text, *strings(message.blocks)])


def text_objects(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and "text" in value:
            yield value
        for item in value.values():
            yield from text_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from text_objects(item)


def buttons(message: Message) -> list[dict]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def action_ids_of(message: Message) -> list[str]:
    return [b["action_id"] for b in buttons(message)]


def check_slack_rules(message: Message) -> None:
    assert isinstance(message, Message)
    assert message.as_kwargs() == {"text": message.text, "blocks": message.blocks}
    json.dumps(message.as_kwargs())  # plain JSON
    assert message.text.strip(), "every message needs fallback text"
    assert len(message.text) <= FALLBACK_LIMIT
    assert 1 <= len(message.blocks) <= 50
    for raw in message.blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        assert type(block) is not Block, f"unknown block type {raw['type']}"
        try:
            if hasattr(block, "validate_json"):
                block.validate_json()
            assert block.to_dict() == raw
        except SlackObjectFormationError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{exc}: {raw}")
        _check_limits(raw)
    for obj in text_objects(message.blocks):
        assert obj["text"].strip(), "Slack refuses empty text"
    ids = action_ids_of(message)
    assert len(ids) == len(set(ids)), "action_ids must be unique in a message"
    known = [action_ids.pattern(a) for a in action_ids.ALL]
    for action_id in ids:
        assert any(p.match(action_id) for p in known), action_id
    for text in strings(message.as_kwargs()):
        for index, char in enumerate(text):
            if char == "<":
                assert text.startswith(OUR_TOKENS, index), text[index : index + 40]
                assert ">" in text[index:]


def _check_limits(raw: dict) -> None:
    kind = raw["type"]
    if kind == "header":
        assert len(raw["text"]["text"]) <= LIMITS["header"]
    if kind == "section":
        if "text" in raw:
            assert len(raw["text"]["text"]) <= LIMITS["section"]
        assert len(raw.get("fields", [])) <= 10
        for f in raw.get("fields", []):
            assert len(f["text"]) <= LIMITS["field"]
    if kind == "context":
        assert len(raw["elements"]) <= 10
        for element in raw["elements"]:
            assert len(element["text"]) <= LIMITS["context"]
    if kind == "actions":
        assert 1 <= len(raw["elements"]) <= 25
        for element in raw["elements"]:
            assert len(element["text"]["text"]) <= LIMITS["button"]
            assert len(element["action_id"]) <= 255
            assert len(element.get("value", "")) <= 2000
            if "confirm" in element:
                dialog = element["confirm"]
                assert len(dialog["title"]["text"]) <= 100
                assert len(dialog["text"]["text"]) <= 300
                assert len(dialog["confirm"]["text"]) <= 30
                assert len(dialog["deny"]["text"]) <= 30


def check_hostile_escaped(message: Message) -> None:
    text = all_text(message)
    assert "<!channel>" not in text
    assert "<http://evil" not in text
    assert "@here" not in text.replace("@\u200bhere", "")
    assert "&amp;" in text and "&lt;" in text and "&gt;" in text


def card(mms_id: str, **kwargs: Any) -> RecordCard:
    """A full record card for message tests; `kwargs` change any field."""
    values: dict[str, Any] = dict(
        title="The Jungle",
        edition="1st ed.",
        publication=Publication("New York", "Doubleday", "1906"),
        extent="413 p.",
        content_type="text",
        media_type="unmediated",
        carrier_type="volume",
        cataloging_language="eng",
        record_format="am",
        encoding_level=" ",
        oclc_numbers=("52467191",),
        holding_institutions=("WAU", "ORU"),
    )
    values.update(kwargs)
    return RecordCard(mms_id=mms_id, **values)
