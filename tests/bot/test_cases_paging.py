"""/nz cases over HTTP with 1,050 open cases (issue 13): acked at once, answered after the
ack one page at a time, every page within Slack's limits, Next and Previous replacing the
ephemeral answer in place through its response_url, the last page reachable by buttons and
by `/nz cases N`, and bad page numbers refused plainly."""

from __future__ import annotations

import json

import pytest

from bot import action_ids as A
from bot.rendering import Message
from nzbot.store import Store
from tests.bot.conftest import block_text, click
from tests.bot.message_checks import check_slack_rules

OPEN = 1_050  # 27 pages of 40, the last holding 10
PAGES = 27


def seed_cases(db_path, count: int) -> None:
    """`count` open cases from one link job, each already shown (nothing left to deliver),
    with the permalink kept when its message was posted."""
    store = Store(str(db_path))
    candidates = [{"mms_id": "9916000000000006390"}, {"mms_id": "9916000000010006390"}]
    with store.writing():
        store.db["cases"].insert_all(
            ({"iz_mms_id": f"99{n:010d}06391", "iz_title": f"Title {n}", "state": "open",
              "candidates": json.dumps(candidates), "created_at": "2026-01-01T00:00:00+00:00",
              "updated_at": "2026-01-01T00:00:00+00:00"} for n in range(1, count + 1)),
            batch_size=500)
        store.db["case_messages"].insert_all(
            ({"case_id": n, "channel": "DPM", "ts": f"1.{n}",
              "permalink": f"https://example.slack.com/archives/DPM/p1{n:06d}"} for n in range(1, count + 1)),
            batch_size=500)
    store.close()


def as_message(args: dict) -> Message:
    return Message(text=args["text"], blocks=args["blocks"])


def mms_ids(args: dict) -> list[str]:
    return [line.split("`")[1] for line in block_text(args).split("\n") if line.startswith("`99")]


def turn(harness, args: dict, which: str) -> dict:
    """Presses Next or Previous on the answer `args`; returns what replaced it."""
    (button,) = [e for b in args["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == A.suffixed(A.CASES_PAGE, which)]
    answer, name = click(harness, button["action_id"], button["value"], channel="CREPORT01")
    assert answer.status_code == 200 and not answer.text  # acked at once, answered after
    replaced = harness.response(name).args
    assert replaced["replace_original"] is True  # the same ephemeral message, updated in place
    return replaced


@pytest.fixture
def many(harness):
    seed_cases(harness.db_path, OPEN)
    return harness.start()


def test_every_page_of_1050_open_cases_is_within_slacks_limits_and_the_last_is_reachable(many):
    answer, name = many.command("cases")
    assert answer.status_code == 200
    assert "Looking for open cases" in block_text(answer.json())  # the listing comes after the ack
    page = many.response(name).args
    seen: list[str] = []
    for number in range(1, PAGES + 1):
        check_slack_rules(as_message(page))
        text = block_text(page)
        assert f"Page {number} of {PAGES}" in text and "1,050 open cases" in text
        assert text.count("|open>") == len(mms_ids(page))  # every line links to its message
        seen += mms_ids(page)
        if number < PAGES:
            page = turn(many, page, "next")
    assert len(mms_ids(page)) == OPEN - 40 * (PAGES - 1)
    assert not any(e["action_id"].endswith(":next") for b in page["blocks"] if b["type"] == "actions"
                   for e in b["elements"])
    assert len(seen) == len(set(seen)) == OPEN  # every case once, newest first
    assert seen[0] == f"99{OPEN:010d}06391" and seen[-1] == f"99{1:010d}06391"
    back = turn(many, page, "prev")
    assert f"Page {PAGES - 1} of {PAGES}" in block_text(back)
    assert many.stub.calls("chat.getPermalink") == []  # the permalinks kept when posted


def test_nz_cases_n_opens_that_page(many):
    answer, name = many.command(f"cases {PAGES}")
    assert "Looking for open cases" in block_text(answer.json())
    last = many.response(name).args
    check_slack_rules(as_message(last))
    assert f"Page {PAGES} of {PAGES}" in block_text(last)
    assert mms_ids(last)[-1] == f"99{1:010d}06391"


@pytest.mark.parametrize("text, expected", [
    ("cases 0", "Pages start at 1"),
    ("cases 28", "There are 27 pages of open cases"),
    ("cases 99999", "is not a page"),
    ("cases -2", "takes nothing, or csv"),
    ("cases 2 3", "takes nothing, or csv"),
])
def test_a_bad_page_number_gets_a_clear_answer(many, text, expected):
    answer, name = many.command(text)
    assert answer.status_code == 200
    said = block_text(answer.json())
    if expected not in said:  # the count of pages is known only after the ack
        said = block_text(many.response(name).args)
    assert expected in said, said
    assert len(many.store.cases("open")) == OPEN


def test_a_page_past_the_only_one_says_so_and_none_open_says_none(harness):
    seed_cases(harness.db_path, 3)
    harness.start()
    _, name = harness.command("cases 2")
    assert "There is one page of open cases: `/nz cases 1`" in block_text(harness.response(name).args)
    for case in harness.store.cases("open"):
        harness.store.move_case(case.id, "open", "skipped")
    _, name = harness.command("cases 2")
    assert "No open cases." in block_text(harness.response(name).args)
