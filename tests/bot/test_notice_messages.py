"""The short messages around the big ones: the ack while Alma works, the answer to
/nz link, refusals, the cases note, the PM hand-over and the CSV. Each must be valid Block
Kit within Slack's limits and must escape what came from outside."""

from __future__ import annotations

import pytest

from nzbot.access import EVERY_MEMBER
from bot.case_messages import already_decided_message, case_sent_message, cases_csv_message
from bot.messages import (
    cases_found_message,
    link_requested_message,
    not_allowed_message,
    unreadable_found_message,
    working_message,
)
from nzbot.cases import decisions_csv
from nzbot.store import Store
from tests.bot.message_checks import HOSTILE, HUGE, all_text, check_hostile_escaped, check_slack_rules


@pytest.fixture
def store():
    return Store(":memory:")


def a_job(store, state, note=None, set_name=HOSTILE):
    job = store.add_link_job(set_id="71000010006391", set_name=set_name, set_size=9,
                             requested_by="UCATALOG1", channel="CREPORT01", state=state, note=note)
    return job


@pytest.mark.parametrize("state,words", [("queued", "is queued"), ("running", "has started"),
                                         ("refused", "refused")])
def test_the_answer_to_link_says_what_happened(store, state, words):
    message = link_requested_message(a_job(store, state, note=HOSTILE), "CREPORT01")
    check_slack_rules(message)
    check_hostile_escaped(message)
    assert words in all_text(message)
    if state != "refused":  # where to follow it
        assert "<#CREPORT01>" in all_text(message)


def test_the_working_ack_escapes_what_was_typed():
    message = working_message("Looking up", HOSTILE)
    check_slack_rules(message)
    check_hostile_escaped(message)
    huge = working_message("Looking up", HUGE)
    check_slack_rules(huge)


def test_not_allowed_names_the_report_channel():
    message = not_allowed_message("CREPORT01")
    check_slack_rules(message)
    assert "<#CREPORT01>" in all_text(message) and "Nothing was changed" in all_text(message)


@pytest.mark.parametrize("count,words", [(1, "1 record is a multi-match"), (12, "12 records are multi-matches")])
def test_cases_found(count, words):
    message = cases_found_message(count)
    check_slack_rules(message)
    assert words in all_text(message)


@pytest.mark.parametrize("count", [1, 120])
def test_unreadable_found_names_the_records_within_slacks_limits(count):
    ids = [f"99{n:011d}06391" for n in range(count)]
    message = unreadable_found_message(ids)
    check_slack_rules(message)
    text = all_text(message)
    assert ("1 record can't be read" if count == 1 else "120 records can't be read") in text
    assert ids[0] in text and "Metadata Editor" in text
    if count > 50:
        assert ids[49] in text and ids[50] not in text and "and 70 more" in text


def test_case_sent_and_already_decided(store):
    case = store.open_case("9912345678906391", HOSTILE, [{"mms_id": "1"}, {"mms_id": "2"}], None)
    sent = case_sent_message(case, True, ("UPROGMGR1",))
    again = case_sent_message(case, False, ("UPROGMGR1",))
    check_slack_rules(sent)
    check_slack_rules(again)
    assert "went to the Program Manager" in all_text(sent) and "<@UPROGMGR1>" in all_text(sent)
    assert "already has case" in all_text(again)
    store.move_case(case.id, "open", "deciding", decided_by="UPROGMGR1")
    store.move_case(case.id, "deciding", "linked")
    decided = already_decided_message(store.case(case.id))
    check_slack_rules(decided)
    assert "already decided by <@UPROGMGR1>" in all_text(decided) and "changed nothing" in all_text(decided)


def test_the_csv_is_escaped_and_fits(store):
    for n in range(200):  # far more than one section holds
        store.open_case(f"99{n:012d}06391", HOSTILE + " ```", [{"mms_id": "1"}, {"mms_id": "2"}], None)
    message = cases_csv_message(decisions_csv(store, EVERY_MEMBER))
    check_slack_rules(message)
    check_hostile_escaped(message)
    assert "200 cases" in all_text(message) and "nzbot cases csv" in all_text(message)
