"""NUL, ESC and the other control characters typed into /nz are never echoed raw (issue
11, "also seen"): the one mrkdwn filter turns them into U+FFFD in every answer."""

from __future__ import annotations

import re
import time

import pytest

from tests.bot.conftest import block_text
from tests.bot.message_checks import strings

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize("text", [
    "match 9912\x00345\x1b[31m",
    "preview Books\x00\x1b[2J set",
    "preview \x1b]0;owned\x07",
    "link Set\x7fname\x9b",
    "match \x00",
    "\x1b[31mmatch",
])
def test_control_characters_never_come_back_raw(harness, text):
    harness.start()
    answer, name = harness.command(text)
    assert answer.status_code == 200
    time.sleep(0.5)
    answers = [answer.json()] if answer.text else []
    answers += [c.args for c in harness.stub.responses(name)]
    assert answers, "the command was answered"
    for said in answers:
        for piece in strings(said):
            assert not CONTROL.search(piece), repr(piece)
    assert any("\ufffd" in block_text(said) or "\\x" in block_text(said) for said in answers), answers
