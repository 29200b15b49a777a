"""The multi-match case messages: the Program Manager's case message in every state and
on every page, /nz cases, the outcome posted in the link job's thread, and the refusal
for non-PMs. Valid Block Kit within Slack's limits, outside text never able to ping or
link, and the words a Program Manager needs to decide actually there."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Iterator

import pytest

from alma.cards import Publication
from alma.errors import BadInput
from bot import action_ids
from bot.case_messages import (
    CASE_CANDIDATES_PER_PAGE,
    case_handoff_message,
    case_message,
    case_outcome_message,
    cases_message,
    not_pm_message,
    safe_link,
)
from bot.rendering import Message
from bot.wording import DIFFERS_MARK
from tests.bot.message_checks import (
    card,
    HOSTILE,
    HUGE,
    action_ids_of,
    all_text,
    buttons,
    check_slack_rules,
    strings,
)
from tests.bot.message_checks import check_hostile_escaped as shared_hostile_check
from nzbot.store import Case

PM = "U024BE7LH"
IZ_ID = "9949620601852"
COUNTS = (1, 2, 5, 6, 12, 40)
STATES = ("open", "failed", "deciding", "linking", "linked", "skipped")


# --- building values -------------------------------------------------------------------




def nz_id(n: int) -> str:
    return f"99{n:04d}00001451"


def candidates(count: int, **kwargs: Any) -> tuple[dict, ...]:
    """`count` candidates, all alike but for their MMS IDs."""
    return tuple(card(nz_id(n), **kwargs).as_dict() for n in range(1, count + 1))


def case(count: int = 2, state: str = "open", **kwargs: Any) -> Case:
    values: dict[str, Any] = dict(
        id=7,
        iz_mms_id=IZ_ID,
        iz_title="The Jungle",
        link_job=3,
        state=state,
        candidates=candidates(count),
        chosen_nz_mms_id=None,
        decided_by=None,
        note=None,
        created_at="2024-05-01T10:00:00+00:00",
        updated_at="2024-05-01T10:00:00+00:00",
        iz_card=card(IZ_ID, holding_institutions=()).as_dict(),
        decision=None,
        route=None,
    )
    if state != "open":
        values.update(decided_by=PM, decision="link", chosen_nz_mms_id=nz_id(count))
    if state == "skipped":
        values.update(decision="skip", chosen_nz_mms_id=None)
    if state == "failed":
        values.update(note="Alma linked it to another record.")
    if state == "linking":
        values.update(route="other_system|(WaU)|(WaU)b123", linking_job=9)
    values.update(kwargs)
    return Case(**values)


def hostile_case(count: int, state: str, **kwargs: Any) -> Case:
    return case(
        count,
        state,
        iz_title=HOSTILE,
        note=HOSTILE,
        candidates=candidates(count, title=HOSTILE, edition=HOSTILE, extent=HOSTILE,
                              publication=Publication(HOSTILE, HOSTILE, HOSTILE),
                              holding_institutions=(HOSTILE,)),
        iz_card=card(IZ_ID, title=HOSTILE, edition=HOSTILE).as_dict(),
        **kwargs,
    )


# Decisions and routes beyond the default "link by link job" of each state.
VARIANTS: dict[str, dict[str, Any]] = {
    "link": {},
    "contribute": {"decision": "contribute"},
    "recheck": {"decision": "recheck", "chosen_nz_mms_id": None},
    "manual": {"route": "manual||"},
    "manual_contribute": {"route": "manual||", "decision": "contribute"},
    "manual_to_cataloger": {"route": "manual||", "handed_to": "UCATALOG1"},
    "token": {"route": "token|(NZBOT)|(NZBOT)c7-1a2b"},
    "merge": {"route": "merge||", "decision": "merge"},
}


def every_case() -> Iterator[tuple[str, Case]]:
    for count in COUNTS:
        for state in STATES:
            for variant, extra in VARIANTS.items():
                if state in ("open", "skipped") and variant != "link":
                    continue
                if state == "linked" and variant.startswith("manual"):
                    continue
                chosen = {} if state in ("open", "skipped") else {"chosen_nz_mms_id": nz_id(count)}
                values = {**chosen, **extra}
                yield f"{count}-{state}-{variant}", case(count, state, **values)
                yield f"{count}-{state}-{variant}-hostile", hostile_case(count, state, **values)
    yield "huge", case(12, "failed", iz_title=HUGE, note=HUGE, candidates=candidates(12, title=HUGE),
                       iz_card=card(IZ_ID, title=HUGE).as_dict())
    yield "no-iz-card", case(3, iz_card=None, iz_title=HOSTILE)
    yield "no-candidates", case(0)
    yield "empty-cards", case(3, candidates=tuple({"mms_id": nz_id(n)} for n in range(3)))
    yield "hostile-decider", case(6, "linked", decided_by=HOSTILE)


CASES = list(every_case())


# --- checking any message --------------------------------------------------------------






def link_buttons(message: Message) -> list[dict]:
    return [e for e in buttons(message) if action_ids.LINK_CANDIDATE_PATTERN.match(e["action_id"])]


def button(message: Message, action_id: str) -> dict:
    [found] = [e for e in buttons(message) if e["action_id"] == action_id]
    return found


def candidate_sections(message: Message) -> list[dict]:
    return [b for b in message.blocks if b["type"] == "section" and "Candidate" in b.get("text", {}).get("text", "")]



def check_hostile_escaped(message: Message) -> None:
    shared_hostile_check(message)
    text = all_text(message)
    assert "&lt;!channel&gt; &amp; &lt;http://evil|click&gt; @\u200bhere" in text


# --- every case message, every state, every size -------------------------------------------


@pytest.mark.parametrize("name,value", CASES, ids=[n for n, _ in CASES])
def test_every_case_message_is_valid_block_kit_within_limits(name: str, value: Case) -> None:
    pages = max(1, -(-len(value.candidates) // CASE_CANDIDATES_PER_PAGE))
    for page in range(pages):
        message = case_message(value, page=page)
        check_slack_rules(message)
        if "hostile" in name:
            check_hostile_escaped(message)
    check_slack_rules(case_outcome_message(value))


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("state", STATES)
def test_hostile_text_is_escaped_in_every_state(count: int, state: str) -> None:
    value = hostile_case(count, state)
    message = case_message(value)
    check_hostile_escaped(message)
    assert "<!channel>" not in message.text and "&lt;!channel&gt;" in message.text
    outcome = case_outcome_message(value)
    check_hostile_escaped(outcome)


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("state", STATES)
def test_buttons_only_while_the_case_can_be_decided(count: int, state: str) -> None:
    message = case_message(case(count, state))
    if state in ("open", "failed"):
        ids = action_ids_of(message)
        assert {action_ids.CONTRIBUTE_NEW, action_ids.SKIP_CASE, action_ids.RECHECK_CASE} <= set(ids)
        assert len(link_buttons(message)) == min(count, CASE_CANDIDATES_PER_PAGE)
    else:
        assert buttons(message) == []
        assert not any(b["type"] == "actions" for b in message.blocks)


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("state", STATES)
def test_cards_stay_visible_in_every_state(count: int, state: str) -> None:
    value = case(count, state)
    message = case_message(value)
    text = all_text(message)
    assert IZ_ID in text and "*IZ record*" in text
    shown = range(1, count + 1) if state not in ("open", "failed") else range(1, min(count, 5) + 1)
    for n in shown:
        assert nz_id(n) in text, n
    if state in ("open", "failed"):
        cards_shown = [s["text"]["text"] for s in candidate_sections(message)]
        assert len(cards_shown) == min(count, CASE_CANDIDATES_PER_PAGE)
        assert not any(nz_id(6) in c for c in cards_shown)  # the next page's


# --- the open case ---------------------------------------------------------------------------


def test_open_case_header_and_link_buttons() -> None:
    message = case_message(case(3))
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"Multi-match: IZ record {IZ_ID}", "emoji": True},
    }
    assert IZ_ID in message.text and "3 NZ records" in message.text
    links = link_buttons(message)
    assert [b["action_id"] for b in links] == [f"{action_ids.LINK_CANDIDATE}:{n}" for n in (1, 2, 3)]
    assert [b["value"] for b in links] == [f"7:{nz_id(n)}" for n in (1, 2, 3)]
    assert all(b["text"]["text"] == "Link to this record" for b in links)
    # Each button sits right under its own candidate's card.
    for n, link in enumerate(links, 1):
        index = next(i for i, b in enumerate(message.blocks) if b["type"] == "actions" and link in b["elements"])
        assert f"NZ record `{nz_id(n)}`" in message.blocks[index - 1]["text"]["text"]


def test_link_confirm_names_both_mms_ids() -> None:
    message = case_message(case(12), page=1)
    links = link_buttons(message)
    assert len(links) == 5
    for n, link in zip(range(6, 11), links):
        dialog = link["confirm"]
        assert dialog["title"]["text"] == "Link this record?"
        assert dialog["text"]["text"] == (
            f"Link IZ record {IZ_ID} to NZ record {nz_id(n)}? "
            "Alma's link job will do it and nzbot will check the result."
        )
        assert dialog["confirm"]["text"] == "Link" and dialog["deny"]["text"] == "Cancel"


def test_contribute_skip_and_recheck() -> None:
    message = case_message(case(2))
    contribute = button(message, action_ids.CONTRIBUTE_NEW)
    assert contribute["value"] == "7"
    assert contribute["text"]["text"] == "None of these: contribute as new"
    dialog = contribute["confirm"]
    assert IZ_ID in dialog["text"]["text"] and "as a new NZ record" in dialog["text"]["text"]
    assert dialog["confirm"]["text"] == "Contribute" and dialog["deny"]["text"] == "Cancel"
    skip = button(message, action_ids.SKIP_CASE)
    assert skip["value"] == "7" and skip["text"]["text"] == "Skip for now"
    recheck = button(message, action_ids.RECHECK_CASE)
    assert recheck["value"] == "7" and recheck["text"]["text"] == "Re-check"
    assert "after NZ duplicates were merged" in all_text(message)


def test_holdings_of_each_candidate() -> None:
    cands = (card(nz_id(1), holding_institutions=("A", "B", "C")).as_dict(),
             card(nz_id(2), holding_institutions=("A",)).as_dict())
    sections = candidate_sections(case_message(case(candidates=cands)))
    held = [next(line for line in s["text"]["text"].split("\n") if "Held by" in line) for s in sections]
    assert "3 member institutions: A, B, C" in held[0]
    assert "1 member institution: A" in held[1]


def test_open_case_shows_the_recheck_note() -> None:
    text = all_text(case_message(case(3, note="Re-checked: 3 NZ records still carry its OCLC number.")))
    assert "Re-checked: 3 NZ records still carry its OCLC number." in text


def test_without_an_iz_card_the_mms_id_and_title_stand_in() -> None:
    message = case_message(case(2, iz_card=None, iz_title="Sister Carrie"))
    iz_block = message.blocks[2]
    assert f"*IZ record* `{IZ_ID}`" in iz_block["text"]["text"]
    assert "Sister Carrie" in iz_block["text"]["text"]


# --- paging -------------------------------------------------------------------------------------


def test_pages_of_twelve() -> None:
    value = case(12)
    first, middle, last = (case_message(value, page=p) for p in range(3))
    assert "Candidates 1\u20135 of 12" in all_text(first)
    assert "Candidates 6\u201310 of 12" in all_text(middle)
    assert "Candidates 11\u201312 of 12" in all_text(last)
    page_ids = lambda m: {b["action_id"]: b["value"] for b in buttons(m)  # noqa: E731
                          if action_ids.CASE_PAGE_PATTERN.match(b["action_id"])}
    assert page_ids(first) == {f"{action_ids.CASE_PAGE}:next": "7:1"}
    assert page_ids(middle) == {f"{action_ids.CASE_PAGE}:prev": "7:0", f"{action_ids.CASE_PAGE}:next": "7:2"}
    assert page_ids(last) == {f"{action_ids.CASE_PAGE}:prev": "7:1"}
    assert button(middle, f"{action_ids.CASE_PAGE}:prev")["text"]["text"].endswith("Previous")
    assert button(middle, f"{action_ids.CASE_PAGE}:next")["text"]["text"].startswith("Next")
    text = all_text(middle)
    assert all(nz_id(n) in text for n in range(6, 11))
    assert not any(nz_id(n) in text for n in (1, 5, 11, 12))
    assert [b["action_id"] for b in link_buttons(last)] == [f"{action_ids.LINK_CANDIDATE}:{n}" for n in (11, 12)]


def test_pages_out_of_range_are_clamped() -> None:
    value = case(12)
    assert case_message(value, page=99) == case_message(value, page=2)
    assert case_message(value, page=-3) == case_message(value, page=0)


@pytest.mark.parametrize("count", [1, 2, 5])
def test_no_paging_when_one_page_holds_them_all(count: int) -> None:
    message = case_message(case(count))
    assert not any(action_ids.CASE_PAGE_PATTERN.match(i) for i in action_ids_of(message))
    assert "Candidates 1" not in all_text(message)


def test_forty_candidates_page_through_all() -> None:
    value = case(40)
    seen = []
    for page in range(8):
        message = case_message(value, page=page)
        assert len(message.blocks) <= 50
        seen += [b["value"].split(":", 1)[1] for b in link_buttons(message)]
    assert seen == [nz_id(n) for n in range(1, 41)]
    assert "Candidates 36\u201340 of 40" in all_text(case_message(value, page=7))


# --- what differs -----------------------------------------------------------------------------


def marked_labels(section: dict) -> set[str]:
    """The labels whose value the section marks as differing ("Edition (250): <mark>*2nd ed.*")."""
    return {line.split(": ", 1)[0] for line in section["text"]["text"].split("\n") if f": {DIFFERS_MARK}*" in line}


def test_differences_over_all_candidates_not_just_the_page() -> None:
    cands = candidates(5) + (card(nz_id(6), edition="2nd ed.").as_dict(),)
    message = case_message(case(candidates=cands), page=0)  # candidates 1-5 agree with each other
    sections = candidate_sections(message)
    assert len(sections) == 5
    for section in sections:
        assert marked_labels(section) == {"Edition (250)"}  # titles agree: not marked
        assert f"Edition (250): {DIFFERS_MARK}*1st ed.*" in section["text"]["text"]
    assert not marked_labels(message.blocks[2])  # never on the IZ record's card
    same = next(b for b in message.blocks if b["type"] == "context" and "Same in all 6" in b["elements"][0]["text"])
    assert DIFFERS_MARK in same["elements"][0]["text"] and "The Jungle" in same["elements"][0]["text"]


def test_differing_title_and_extent_marked() -> None:
    cands = (card(nz_id(1)).as_dict(),
             card(nz_id(2), title="The Jungle : a novel of Chicago", extent="900 p.").as_dict())
    sections = candidate_sections(case_message(case(candidates=cands)))
    for section in sections:
        assert marked_labels(section) == {"Title (245)", "Extent (300)"}
    assert f"Extent (300): {DIFFERS_MARK}*900 p.*" in sections[1]["text"]["text"]  # the value is marked


def test_nothing_marked_when_candidates_agree() -> None:
    assert DIFFERS_MARK not in all_text(case_message(case(6)))
    assert DIFFERS_MARK not in all_text(case_message(case(1)))
    assert all("The same as the other candidates" in s["text"]["text"] for s in candidate_sections(case_message(case(3))))


# --- failed ----------------------------------------------------------------------------------


def test_failed_warns_first_and_offers_the_buttons_again() -> None:
    message = case_message(case(3, "failed", note="Alma linked it to NZ record 991 <instead>."))
    warning = message.blocks[1]
    assert warning["type"] == "section"
    assert warning["text"]["text"].startswith(":warning: *The link could not be verified:* ")
    assert "Alma linked it to NZ record 991 &lt;instead&gt;." in warning["text"]["text"]
    assert f"Decided by <@{PM}>: link to NZ record {nz_id(3)}" in warning["text"]["text"]
    assert len(link_buttons(message)) == 3
    assert action_ids.CONTRIBUTE_NEW in action_ids_of(message)


# --- decided, being linked ------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["deciding", "linking"])
def test_decided_and_linking(state: str) -> None:
    message = case_message(case(4, state, route="other_system|(WaU)|(WaU)b1"))
    text = all_text(message)
    assert f"Decided by <@{PM}>: link to NZ record {nz_id(4)}" in text
    assert "Linking and verifying in Alma\u2026" in text
    assert "Metadata Editor" not in text
    assert "*chosen*" in next(s["text"]["text"] for s in candidate_sections(message) if nz_id(4) in s["text"]["text"])


def test_decided_to_contribute_or_recheck() -> None:
    contribute = all_text(case_message(case(4, "deciding", decision="contribute", chosen_nz_mms_id=None)))
    assert f"Decided by <@{PM}>: contribute as a new NZ record" in contribute
    recheck = all_text(case_message(case(4, "deciding", decision="recheck", chosen_nz_mms_id=None)))
    assert f"Decided by <@{PM}>: re-check" in recheck
    assert "link to NZ record" not in recheck


# Issue 10: the Program Manager works in the NZ and usually cannot open a member's IZ
# record, so the hand-off's Metadata Editor steps go to the cataloger (case_handoff), and
# the PM's message only says whom they went to. (These tests used to assert the steps in
# the PM's message: the behaviour the issue calls wrong.)
@pytest.mark.parametrize("route", ["manual", "manual||"])
def test_manual_route_tells_the_pm_whom_it_went_to_never_the_steps(route: str) -> None:
    message = case_message(case(6, "linking", route=route, handed_to="UCATALOG1"))
    text = all_text(message)
    assert "the steps went to <@UCATALOG1> (who started the link job)" in text
    assert "Share with Network" not in text and "Record Actions" not in text
    assert f"Decided by <@{PM}>: link to NZ record {nz_id(6)}" in text
    assert "Linking and verifying in Alma" not in text
    assert buttons(message) == []
    sent = all_text(case_message(case(6, "linking", route=route, handed_to="UCATALOG1", requested_by="UCATALOG1")))
    assert "(who sent the case)" in sent
    nobody = all_text(case_message(case(6, "linking", route=route, handed_to="")))
    assert "the report channel, for a cataloger of the institution" in nobody


def test_no_pm_message_ever_holds_iz_metadata_editor_steps() -> None:
    for name, value in every_case():
        text = all_text(case_message(value))
        assert "Share with Network" not in text, name


def test_the_hand_off_gives_the_cataloger_the_steps() -> None:
    message = case_handoff_message(case(4, "linking", route="manual||", handed_to="UCATALOG1"), True)
    check_slack_rules(message)
    text = all_text(message).replace("&gt;", ">")
    assert text.startswith("<@UCATALOG1>") or "<@UCATALOG1>, please link IZ record" in text
    assert f"Open IZ record `{IZ_ID}`" in text
    assert "*Record Actions* > *Share with Network*" in text
    assert "Answer *Yes* to see the matches" in text
    assert f"Click *Link* next to NZ record `{nz_id(4)}`" in text
    assert f"the Program Manager <@{PM}> chose NZ record {nz_id(4)}" in text
    hostile = case_handoff_message(hostile_case(4, "linking", route="manual||", handed_to=HOSTILE), True)
    check_slack_rules(hostile)
    check_hostile_escaped(hostile)


def test_the_token_route_shows_the_token_while_linking() -> None:
    text = all_text(case_message(case(3, "linking", route="token|(NZBOT)|(NZBOT)c7-1a2b")))
    assert f"A temporary 035 $a (NZBOT)c7-1a2b is on NZ record {nz_id(3)} and IZ record {IZ_ID}" in text
    assert "taken off again afterwards" in text


def test_the_merge_route_gives_the_pm_the_nz_steps() -> None:
    message = case_message(case(3, "linking", route="merge||", decision="merge", chosen_nz_mms_id=nz_id(2)))
    check_slack_rules(message)
    text = all_text(message)
    assert "Merge Records and Combine Inventory" in text
    assert f"with NZ record `{nz_id(2)}` as the *primary* record" in text
    assert f"each duplicate: `{nz_id(1)}`, `{nz_id(3)}`." in text
    assert "Share with Network" not in text
    assert f"these are duplicates: merge into NZ record {nz_id(2)}" in text


def test_each_candidate_has_a_merge_button() -> None:
    message = case_message(case(3))
    merges = [b for b in buttons(message) if b["action_id"].startswith(action_ids.MERGE_INTO)]
    assert [b["value"] for b in merges] == [f"7:{nz_id(n)}" for n in (1, 2, 3)]
    assert all(b["text"]["text"] == "These are duplicates: merge into this one" for b in merges)


# --- settled ---------------------------------------------------------------------------------------


def test_linked() -> None:
    message = case_message(case(3, "linked"))
    assert (f":white_check_mark: Linked to NZ record {nz_id(3)} \u2014 verified in Alma. "
            f"Decided by <@{PM}>.") == message.blocks[1]["text"]["text"]
    contributed = case_message(case(3, "linked", decision="contribute", chosen_nz_mms_id="99999900001451"))
    assert (":white_check_mark: Contributed as new NZ record 99999900001451 \u2014 verified in Alma. "
            f"Decided by <@{PM}>.") == contributed.blocks[1]["text"]["text"]


def test_skipped() -> None:
    message = case_message(case(3, "skipped"))
    assert message.blocks[1]["text"]["text"] == (
        f":fast_forward: Skipped for now by <@{PM}>. It comes back after the next link job on its set.")
    assert "Re-check" not in json.dumps(buttons(message))


def test_settled_with_forty_keeps_the_chosen_card_in_full_and_lists_the_rest() -> None:
    message = case_message(case(40, "linked", chosen_nz_mms_id=nz_id(17)))
    [full] = candidate_sections(message)
    assert f"NZ record `{nz_id(17)}`" in full["text"]["text"] and "*chosen*" in full["text"]["text"]
    assert len(message.blocks) <= 20
    text = all_text(message)
    assert "The other 39 candidates" in text
    assert all(nz_id(n) in text for n in range(1, 41))


def test_settled_with_few_shows_every_card_in_full() -> None:
    message = case_message(case(5, "linked"))
    assert len(candidate_sections(message)) == 5


# --- /nz cases -------------------------------------------------------------------------------------


def listed(n: int, state: str = "open", **kwargs: Any) -> Case:
    values: dict[str, Any] = dict(id=n, iz_mms_id=f"99{n:05d}01852", iz_title=f"Title {n}",
                                  created_at=f"2024-05-{n % 28 + 1:02d}T10:{n % 60:02d}:00+00:00")
    values.update(kwargs)
    return case(3, state, **values)


def test_no_open_cases() -> None:
    message = cases_message([listed(1, "linked"), listed(2, "skipped")], {})
    check_slack_rules(message)
    assert message.text == "No open cases."
    assert "No open cases." in all_text(message)


def test_cases_newest_first_with_state_count_and_link() -> None:
    old = listed(1, created_at="2024-05-01T10:00:00+00:00")
    new = listed(2, "failed", created_at="2024-05-02T10:00:00+00:00")
    manual = listed(3, "linking", route="manual||", created_at="2024-04-01T10:00:00+00:00")
    done = listed(4, "linked")
    message = cases_message([old, done, manual, new], {2: "https://example.slack.com/archives/C1/p1?thread_ts=1&cid=C1"})
    check_slack_rules(message)
    text = all_text(message)
    assert text.index(new.iz_mms_id) < text.index(old.iz_mms_id) < text.index(manual.iz_mms_id)
    assert done.iz_mms_id not in text
    assert "*Title 2*" in text and "3 candidates" in text
    assert "waiting for a decision" in text and "link failed" in text and "Metadata Editor" in text
    assert "<https://example.slack.com/archives/C1/p1?thread_ts=1&amp;cid=C1|open>" in text
    assert text.count("|open>") == 1
    assert message.text.startswith("3 open cases")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://x|evil", "https://x> <!channel",
                                 "ftp://x", "", None, "https://" + "a" * 500, "https://a b"])
def test_cases_refuse_unsafe_links(url: Any) -> None:
    assert safe_link(url) is None
    message = cases_message([listed(1)], {1: url})
    check_slack_rules(message)
    assert "|open>" not in all_text(message)


def test_cases_many_show_forty_and_a_next_page() -> None:
    # was: the 40 newest and "…and 5 more"; now the rest are on page 2 (issue 13)
    message = cases_message([listed(n, iz_title=HUGE) for n in range(1, 46)],
                            {n: f"https://example.slack.com/archives/C1/p{n}" for n in range(1, 46)})
    check_slack_rules(message)
    text = all_text(message)
    assert sum(1 for s in strings(message.blocks) for line in s.split("\n") if line.startswith("`99")) == 40
    assert "\u2026and" not in text
    assert "Page 1 of 2" in text
    assert text.count("|open>") == 40
    (only,) = buttons(message)
    assert action_ids.base(only["action_id"]) == action_ids.CASES_PAGE
    assert action_ids.read(only["action_id"], only["value"]).page == 2


@pytest.mark.parametrize("page", [1, 2, 13, 26])
def test_every_page_of_1025_cases_stays_within_slacks_limits(page: int) -> None:
    total = 1025  # 26 pages of 40, the last holding 25
    ids = range(total - (page - 1) * 40, max(0, total - page * 40), -1)  # newest first
    shown = [listed(n, iz_title=HUGE) for n in ids]
    message = cases_message(shown, {n: f"https://example.slack.com/archives/C1/p{n}" for n in ids},
                            total, page=page)
    check_slack_rules(message)
    text = all_text(message)
    lines = [line for s in strings(message.blocks) for line in s.split("\n") if line.startswith("`99")]
    assert len(lines) == (25 if page == 26 else 40)
    assert f"Page {page} of 26" in text and "1,025 open cases" in text
    turns = {action_ids.suffixed(action_ids.CASES_PAGE, "prev"): page - 1,
             action_ids.suffixed(action_ids.CASES_PAGE, "next"): page + 1}
    expected = {a: p for a, p in turns.items() if 1 <= p <= 26}
    assert {b["action_id"]: action_ids.read(b["action_id"], b["value"]).page for b in buttons(message)} == expected


@pytest.mark.parametrize("raw, expected", [
    ("0", "Pages start at 1"), ("-1", "is not a page"), ("x", "is not a page"), ("", "is not a page"),
    ("\uff12", "is not a page"), ("1" * 30, "is not a page"),
])
def test_a_forged_page_of_cases_is_refused(raw: str, expected: str) -> None:
    with pytest.raises(BadInput) as refused:
        action_ids.read(action_ids.suffixed(action_ids.CASES_PAGE, "next"), raw)
    assert expected in str(refused.value)


def test_cases_hostile_titles_escaped() -> None:
    message = cases_message([listed(1, iz_title=HOSTILE), listed(2, "failed", iz_title=HOSTILE)], {})
    check_slack_rules(message)
    check_hostile_escaped(message)


# --- the outcome in the link job's thread --------------------------------------------------------------


TITLED = f"Record {IZ_ID} (The Jungle): "


@pytest.mark.parametrize(
    "value,expected",
    [
        (case(3, "linked"), f"{TITLED}<@{PM}> chose NZ record {nz_id(3)}; linked and verified."),
        (case(3, "linked", decision="contribute", chosen_nz_mms_id="9912"),
         f"{TITLED}<@{PM}> contributed it as a new NZ record 9912"),
        (case(3, "skipped"), f"{TITLED}<@{PM}> skipped it for now."),
        (case(3, "failed", note="Alma linked it elsewhere."),
         f"{TITLED}<@{PM}> chose NZ record {nz_id(3)}; the link failed: Alma linked it elsewhere."),
        (case(3, "linking", route="manual||"),
         f"{TITLED}<@{PM}> chose NZ record {nz_id(3)}, to be linked in the Metadata Editor (Method 2); nzbot is watching"),
        (case(3, "linking"), f"{TITLED}<@{PM}> chose NZ record {nz_id(3)}; linking and verifying in Alma"),
    ],
    ids=["linked", "contributed", "skipped", "failed", "manual", "linking"],
)
def test_outcome_texts(value: Case, expected: str) -> None:
    message = case_outcome_message(value)
    check_slack_rules(message)
    assert expected in message.blocks[0]["text"]["text"]
    assert expected in message.text


def test_outcome_without_a_title() -> None:
    message = case_outcome_message(case(3, "skipped", iz_title=""))
    assert f"Record {IZ_ID}: <@{PM}> skipped it for now." in message.text


def test_outcome_hostile_note_and_decider() -> None:
    message = case_outcome_message(case(3, "failed", note=HOSTILE, decided_by=HOSTILE, iz_title=HOSTILE))
    check_slack_rules(message)
    check_hostile_escaped(message)


# --- not the Program Manager --------------------------------------------------------------------------


def test_not_pm_names_the_program_managers() -> None:
    message = not_pm_message(("U024BE7LH", "W0123ABCD"))
    check_slack_rules(message)
    assert message.blocks[0]["text"]["text"].endswith(
        "Only the Program Manager (<@U024BE7LH>, <@W0123ABCD>) can decide multi-match cases. Nothing was changed.")
    assert "Nothing was changed." in message.text


def test_not_pm_without_names_or_with_odd_ones() -> None:
    empty = not_pm_message(())
    assert "Only the Program Manager can decide multi-match cases." in all_text(empty)
    hostile = not_pm_message((HOSTILE,) + tuple(f"U{n:08d}" for n in range(12)))
    check_slack_rules(hostile)
    check_hostile_escaped(hostile)
    assert "and 3 more" in all_text(hostile)


# --- action ids ----------------------------------------------------------------------------------------


def test_action_id_patterns_match_the_prefix_only() -> None:
    link = action_ids.pattern(action_ids.LINK_CANDIDATE)
    assert link.match("nz_case_link") and link.match("nz_case_link:12")
    assert not link.match("nz_case_linked") and not link.match("x_nz_case_link:1")
    assert action_ids.LINK_CANDIDATE_PATTERN.pattern == link.pattern
    assert action_ids.CASE_PAGE == "nz_case_page" and action_ids.CASE_PAGE in action_ids.ALL
    assert action_ids.base("nz_case_page:next") == "nz_case_page"
    assert action_ids.suffixed(action_ids.LINK_CANDIDATE, 3) == "nz_case_link:3"
    for other in (action_ids.CONTRIBUTE_NEW, action_ids.SKIP_CASE, action_ids.RECHECK_CASE, action_ids.CASE_PAGE):
        assert not link.match(other)


def test_every_button_id_belongs_to_exactly_one_constant() -> None:
    message = case_message(case(12), page=1)
    patterns = {a: re.compile(action_ids.pattern(a).pattern) for a in action_ids.ALL}
    for action_id in action_ids_of(message):
        assert sum(1 for p in patterns.values() if p.match(action_id)) == 1, action_id


def test_messages_do_not_change_the_case() -> None:
    value = case(6, "failed")
    before = replace(value)
    case_message(value, page=1)
    cases_message([value], {})
    case_outcome_message(value)
    assert value == before


def test_nz_cases_says_a_case_waits_for_the_merge() -> None:
    waiting = case(3, "linking", route="merge||", decision="merge")
    text = all_text(cases_message([waiting], {}))
    assert "waiting for the NZ duplicates to be merged" in text


def test_a_case_waiting_for_a_merge_can_only_be_re_checked() -> None:
    message = case_message(case(3, "linking", route="merge||", decision="merge"))
    assert action_ids_of(message) == [action_ids.RECHECK_CASE]
    assert [b["value"] for b in buttons(message)] == ["7"]


@pytest.mark.parametrize("name,value", CASES, ids=[n for n, _ in CASES])
def test_every_button_value_is_the_codecs_and_reads_back(name: str, value: Case) -> None:
    """Whatever the state and route, every button's value is one the codec wrote
    (bot/action_ids.py) and reads back to this case and, for a pick, one of its candidates."""
    for page in range(3):
        for button in buttons(case_message(value, page=page)):
            pressed = action_ids.read(button["action_id"], button["value"])
            assert pressed.case_id == value.id
            if action_ids.base(button["action_id"]) in (action_ids.LINK_CANDIDATE, action_ids.MERGE_INTO):
                assert pressed.mms_id in value.candidate_ids


def test_review_buttons_carry_values_the_codec_reads_back() -> None:
    from alma.errors import BadInput
    from bot.case_messages import home_view, queue_message, review_message
    from tests.bot.test_messages import link_job

    job = link_job(id=12)
    counts = {"open": 2, "linking": 1}
    shown = [queue_message(job, counts), queue_message(None, counts), review_message(case(3, "linked"), job, counts),
             Message(text="", blocks=home_view([(job, counts)])["blocks"])]
    pressed = [action_ids.read(b["action_id"], b["value"]) for m in shown for b in buttons(m)
               if b["action_id"] == action_ids.REVIEW_CASES]
    assert [p.link_job for p in pressed] == [12, None, 12, None]
    for forged in ("", "12;1", "-1", "１２", "9" * 19, "ALL"):
        with pytest.raises(BadInput):
            action_ids.read(action_ids.REVIEW_CASES, forged)


# -- what became of a pick, for the Program Manager (issue 10 under the queue) -------------

def test_the_pms_notices_and_the_attention_list_keep_slacks_limits_and_escape_outside_text() -> None:
    from bot.case_messages import decided_line, home_view, pm_notice_message, review_message
    from nzbot.states import PmNotice, Route, RouteKind, TokenState
    from nzbot.store import LinkToken

    token = LinkToken(id=1, case_id=7, token="(NZBOT)c7-ab12", nz_mms_id="99123", iz_mms_id=IZ_ID,
                      state=TokenState.REMOVING, note=None, created_at="", updated_at="")
    manual = Route(RouteKind.MANUAL)
    for count in (1, 5, 60):
        failed = hostile_case(count, "failed")
        handed = hostile_case(count, "linking", route=manual, handed_to="U0CAT", decided_by=PM)
        for message in (pm_notice_message(failed, PmNotice.FAILED), pm_notice_message(handed, PmNotice.HANDED_OFF),
                        pm_notice_message(handed, PmNotice.TOKEN_STUCK, token),
                        review_message(case(count), None, {"open": 2}, decided=handed)):
            check_slack_rules(message)
            shared_hostile_check(message)
        if count == 1:  # a failed case comes with its buttons, to decide again in the thread
            assert f"{action_ids.LINK_CANDIDATE}:1" in action_ids_of(pm_notice_message(failed, PmNotice.FAILED))
    stuck = pm_notice_message(case(2, "linked"), PmNotice.TOKEN_STUCK, token)
    assert "`035 $a (NZBOT)c7-ab12`" in all_text(stuck) and "NZ record `99123`" in all_text(stuck)
    handed = case(2, "linking", route=manual, handed_to="U0CAT")
    assert decided_line(handed) == "Case 7 (The Jungle): handed to <@U0CAT> with the Metadata Editor steps"
    view = home_view([], failed=[hostile_case(60, "failed")] * 5, failed_total=400, stuck=[token] * 9)
    text = all_text(type(stuck)(text="", blocks=view["blocks"]))
    assert "Needs your attention: 409" in text and "395 more failed cases" in text and "4 more temporary 035s" in text
    assert len(view["blocks"]) <= 100 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in view["blocks"])
