"""Forged button values over HTTP (issue 11 item 1 and "NZ record None"): every value goes
through bot.action_ids' one codec, and a case recorded from a forged value before values
were checked fails alone in routing, batching and verifying, never holding up the others."""

from __future__ import annotations

import time

import pytest

from alma.preview import look_up
from alma.simulator import seed
from bot import action_ids as A
from tests.bot.conftest import CATALOGER, block_text, click


def alma_calls(harness) -> int:
    return sum(n for key, n in harness.sim.calls.items() if "/conf/jobs" not in key)


@pytest.mark.parametrize("value", [
    "(OCoLC)64444444",  # an OCLC number of a real multi-match: it opened a case for "(OCoLC)64444444"
    "",
    " 9912345678 ",
    "\uff19\uff19\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
    "99123;DROP",
    "9" * 400,
])
def test_a_forged_send_to_pm_value_is_refused_before_alma_is_asked(harness, value):
    harness.start()
    calls = alma_calls(harness)
    answer, name = click(harness, A.SEND_TO_PM, value, user=CATALOGER, channel="CREPORT01")
    assert answer.status_code == 200
    refusal = harness.response(name)
    assert "is not an IZ record's MMS ID" in block_text(refusal.args)
    assert "nothing was sent to the Program Manager" in block_text(refusal.args)
    assert refusal.args.get("response_type") == "ephemeral"
    time.sleep(0.3)
    assert harness.store.cases() == [] and alma_calls(harness) == calls


def test_an_oclc_number_made_of_digits_alone_opens_no_case(harness):
    """64444444 is an MMS ID in shape, but Alma's answer is an OCLC search, not an IZ record."""
    harness.start()
    answer, name = click(harness, A.SEND_TO_PM, "64444444", user=CATALOGER, channel="CREPORT01")
    assert answer.status_code == 200
    refusal = harness.response(name)
    text = block_text(refusal.args)
    assert "not an IZ record's MMS ID" in text or "no bib record with MMS ID 64444444" in text, text
    assert harness.store.cases() == []


def test_a_genuine_send_to_pm_still_opens_its_case(harness):
    harness.start()
    answer, name = click(harness, A.SEND_TO_PM, seed.CASES["multi_three"], user=CATALOGER, channel="CREPORT01")
    assert answer.status_code == 200
    assert "went to the Program Manager" in block_text(harness.response(name).args)
    assert [c.iz_mms_id for c in harness.store.cases()] == [seed.CASES["multi_three"]]


def open_case(harness, iz):
    case, _ = harness.bot.services.cases.send_to_pm(iz, CATALOGER)
    harness.wait(lambda: harness.store.case_messages(case.id), what="the case message")
    return case


@pytest.mark.parametrize("value_of, expected", [
    (lambda case: f"{case.id}:", "names no NZ record"),
    (lambda case: f"{case.id}", "names no NZ record"),
    (lambda case: f"{case.id}:(OCoLC)62222222", "is not an NZ record's MMS ID"),
    (lambda case: f"x{case.id}:{case.candidate_ids[0]}", "There is no case"),
    (lambda case: f"{case.id}:9999999999999", "is not one of case"),
], ids=["empty-pick", "no-colon", "oclc-pick", "bad-case", "not-a-candidate"])
def test_a_forged_pick_gets_a_clear_refusal_and_changes_nothing(harness, value_of, expected):
    harness.start()
    case = open_case(harness, seed.CASES["multi_three"])
    answer, name = click(harness, f"{A.LINK_CANDIDATE}:1", value_of(case))
    assert answer.status_code == 200
    text = block_text(harness.response(name).args)
    assert expected in text and "None" not in text, text
    time.sleep(0.3)
    assert harness.store.case(case.id).state == "open"


@pytest.mark.parametrize("value_of, expected", [
    (lambda case: f"{case.id}:", "names no NZ record"),
    (lambda case: f"{case.id}:(OCoLC)62222222", "is not an NZ record's MMS ID"),
    (lambda case: f"{case.id}:9999999999999", "is not one of case"),
], ids=["empty-pick", "oclc-pick", "not-a-candidate"])
def test_a_forged_merge_value_gets_a_clear_refusal_and_changes_nothing(harness, value_of, expected):
    harness.start()
    case = open_case(harness, seed.CASES["multi_three"])
    answer, name = click(harness, f"{A.MERGE_INTO}:1", value_of(case))
    assert answer.status_code == 200
    text = block_text(harness.response(name).args)
    assert expected in text and "None" not in text, text
    time.sleep(0.3)
    assert harness.store.case(case.id).state == "open"


@pytest.mark.parametrize("action_id, value", [
    (A.SKIP_CASE, "1:2"), (A.RECHECK_CASE, "-1"), (A.CONTRIBUTE_NEW, ""), (f"{A.CASE_PAGE}:next", "1:x"),
])
def test_other_forged_case_values_are_refused(harness, action_id, value):
    harness.start()
    case = open_case(harness, seed.CASES["multi_three"])
    answer, name = click(harness, action_id, value)
    assert answer.status_code == 200
    text = block_text(harness.response(name).args)
    assert "There is no case" in text or "is not a page" in text, text
    time.sleep(0.3)
    assert harness.store.case(case.id).state == "open"


def test_buttons_carry_values_the_codec_reads_back(harness):
    harness.start()
    case = open_case(harness, seed.CASES["multi_three"])
    ((channel, ts),) = harness.store.case_messages(case.id)
    message = next(m for m in harness.stub.messages(channel) if m["ts"] == ts)
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) >= 4
    for button in buttons:
        read = A.read(button["action_id"], button["value"])
        assert read.case_id == case.id
        if A.base(button["action_id"]) == A.LINK_CANDIDATE:
            assert read.mms_id in case.candidate_ids


# ------------------------------------------------------------ one bad case fails alone

@pytest.mark.parametrize("iz_key, decision", [
    ("multi_three", "link"),  # routing: give_identifier reads the IZ record
    ("multi", "link"),  # no identifying 035: handed off, then verifying reads the IZ record back
    ("multi_three", "contribute"),  # batching: the set of the link-job run
], ids=["routing", "verifying", "batching"])
def test_a_case_recorded_from_a_forged_value_fails_alone(harness, iz_key, decision):
    """A case opened from a forged value before values were checked (as the issue found it
    in a real database): it must fail, saying why, and the genuine case beside it go on."""
    harness.start()
    iz = seed.CASES[iz_key]
    match = look_up(harness.bot.services.alma, iz)
    forged = harness.store.open_case("(OCoLC)" + match.iz_oclc.active[0].removeprefix("(OCoLC)"),
                                     "Forged", [c.as_dict() for c in match.candidates], None)
    genuine = open_case(harness, iz)
    assert forged.id < genuine.id  # the forged one comes first in every round
    harness.wait(lambda: harness.store.case_messages(forged.id), what="the forged case's message")
    chosen = match.candidates[-1].mms_id
    for case in (forged, genuine):
        if decision == "link":
            click(harness, f"{A.LINK_CANDIDATE}:{len(match.candidates)}", f"{case.id}:{chosen}")
        else:
            click(harness, A.CONTRIBUTE_NEW, str(case.id))
    harness.wait(lambda: harness.store.case(forged.id).state == "failed", timeout=20,
                 what="the forged case to fail")
    assert "is not an MMS ID" in harness.store.case(forged.id).note
    if iz_key == "multi":  # handed off: a cataloger links it in the Metadata Editor
        harness.wait(lambda: harness.store.case(genuine.id).state == "linking", timeout=30, what="the hand-off")
        harness.sim.state.link(iz, chosen)
    harness.wait(lambda: harness.store.case(genuine.id).state in ("linked", "failed"), timeout=30,
                 what="the genuine case to settle")
    settled = harness.store.case(genuine.id)
    assert settled.state == "linked", settled.note
    assert harness.sim.state.linked_nz_id_of(iz) == settled.chosen_nz_mms_id
    # and the forged case stays failed, round after round, without an error each time
    time.sleep(0.5)
    assert harness.store.case(forged.id).state == "failed"
