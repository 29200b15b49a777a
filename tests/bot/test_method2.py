"""The guidance's Method 2 from Slack, over HTTP: "Link to this record" on a /nz match
answer, pressed by a cataloger who may start link jobs; the link made through the same
routes as a Program Manager's pick, read back in Alma before the cataloger is told."""

from __future__ import annotations

import csv
import io

from alma.simulator import seed
from bot import action_ids
from nzbot.access import EVERY_MEMBER
from nzbot.cases import decisions_csv
from tests.bot.conftest import CATALOGER, PM, REPORT, block_text, click

OUTSIDER = "UOTHER001"


def link_buttons(message: dict) -> list[dict]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
            if e["action_id"].startswith(action_ids.MATCH_LINK)]


def lookup(harness, iz: str, *, user: str = CATALOGER, channel: str = REPORT) -> dict:
    _, name = harness.command(f"match {iz}", user=user, channel=channel)
    return harness.response(name).args


def answers(harness, name: str) -> list[str]:
    return [block_text(c.args) for c in harness.stub.responses(name)]


def test_a_cataloger_links_candidate_2_of_a_multi_match_and_it_is_read_back(harness):
    harness.start()
    iz = seed.CASES["multi_three"]
    answer = lookup(harness, iz)
    buttons = link_buttons(answer)
    assert len(buttons) == 3  # one under each candidate
    pressed = action_ids.read(buttons[1]["action_id"], buttons[1]["value"])
    chosen = pressed.mms_id
    assert pressed.iz_mms_id == iz and chosen == seed.NZ_RECORDS["multi_three_b"]
    confirm = buttons[1]["confirm"]["text"]["text"]
    assert "replaces IZ record" in confirm and "$9 LOCAL" in confirm
    _, name = click(harness, buttons[1]["action_id"], buttons[1]["value"], user=CATALOGER, channel=REPORT)
    harness.wait(lambda: any("verified in Alma" in a for a in answers(harness, name)), timeout=30,
                 what="the cataloger's answer saying it is linked")
    assert harness.sim.state.linked_nz_id_of(iz) == chosen  # read back: Alma shows it linked
    said = answers(harness, name)
    assert "Linking" in said[0] and any(f"is linked to NZ record {chosen}" in a for a in said)
    (case,) = harness.store.cases()
    assert case.state == "linked" and case.by_cataloger and case.decided_by == CATALOGER
    assert any(r["action"] == "case_link" and r["actor"] == CATALOGER and "Method 2" in r["detail"]
               for r in harness.store.audit_rows())
    (row,) = csv.DictReader(io.StringIO(decisions_csv(harness.store, EVERY_MEMBER)))
    assert row["decided_as"] == "cataloger" and row["decided_by"] == CATALOGER
    # the cataloger's own link is not the Program Manager's to decide: no message went to them
    assert not [c for c in harness.stub.calls("chat.postMessage") if c.args.get("channel", "").startswith("D")]


def test_a_unique_matchs_button_links_it_with_the_ordinary_run(harness):
    harness.start()
    iz = seed.CASES["unique"]
    (button,) = link_buttons(lookup(harness, iz))
    harness.sim.reset_calls()
    _, name = click(harness, button["action_id"], button["value"], user=CATALOGER, channel=REPORT)
    harness.wait(lambda: any("verified in Alma" in a for a in answers(harness, name)), timeout=30,
                 what="the unique match linked")
    # the record is read once: matched, and its MARC kept from that same read
    assert harness.sim.calls.get("GET /almaws/v1/bibs/{mms_id}", 0) == 1
    (case,) = harness.store.cases()
    assert case.route.kind == "unique" and harness.sim.state.linked_nz_id_of(iz) == case.chosen_nz_mms_id
    (job,) = [j for j in harness.store.link_jobs() if j.id == case.linking_job]
    assert job.match_prefix == "" and not job.contribute  # Unique OCLC, as the guidance's job


def test_someone_who_may_not_start_link_jobs_gets_no_button_and_a_forged_press_links_nothing(harness):
    harness.overrides["allowed_users"] = (PM,)  # only the PM may start link jobs here
    harness.start()
    iz = seed.CASES["multi_three"]
    assert link_buttons(lookup(harness, iz)) == []  # the cataloger sees no button
    value = action_ids.value(action_ids.MATCH_LINK, iz_mms_id=iz, mms_id=seed.NZ_RECORDS["multi_three_b"])
    for user, channel in ((CATALOGER, REPORT), (OUTSIDER, "COTHER001")):
        _, name = click(harness, f"{action_ids.MATCH_LINK}:2", value, user=user, channel=channel)
        refusal = block_text(harness.response(name).args)
        assert "Link jobs are started only in" in refusal
    assert harness.store.cases() == [] and harness.sim.state.linked_nz_id_of(iz) is None
    assert not harness.sim.state.runs


def test_the_confirm_names_the_local_fields_linking_would_lose(harness):
    harness.start()
    iz, nz_ids = seed.add_multi_match(harness.sim.state, "Local fields title", "36000099", ("", ""))
    button = link_buttons(lookup(harness, iz))[0]
    confirm = button["confirm"]["text"]["text"]
    # its 590 and 949 lack $9 LOCAL (the seed's local notes): both would be lost
    assert "will be lost: 590, 949." in confirm


def test_a_record_in_the_pms_queue_is_decided_by_the_catalogers_pick(harness):
    harness.start()
    iz = seed.CASES["multi_three"]
    case, _ = harness.bot.services.cases.send_to_pm(iz, CATALOGER)
    harness.wait(lambda: harness.store.case_messages(case.id), what="the PM's message")
    button = link_buttons(lookup(harness, iz))[1]
    _, name = click(harness, button["action_id"], button["value"], user=CATALOGER, channel=REPORT)
    harness.wait(lambda: harness.store.case(case.id).state == "linked", timeout=30, what="the case linked")
    decided = harness.store.case(case.id)
    assert decided.by_cataloger and decided.decided_by == CATALOGER
    assert len(harness.store.cases()) == 1  # the same case, not a second one
    # the PM's message says how it ended (updated just after the case moves)
    (channel, ts), = harness.store.case_messages(case.id)
    harness.wait(lambda: "Linked to NZ record" in block_text(
        next(m for m in harness.stub.messages(channel) if m["ts"] == ts)), what="the PM's message updated")


# -- nothing lost when a record links ------------------------------------------------------

def test_the_record_is_kept_as_it_was_before_its_link_and_nz_history_shows_it(harness, monkeypatch, capsys):
    harness.start()
    iz, chosen = seed.CASES["multi_three"], seed.NZ_RECORDS["multi_three_b"]
    before = harness.sim.state.iz[iz].marc.values_035("a")
    button = link_buttons(lookup(harness, iz))[1]
    _, name = click(harness, button["action_id"], button["value"], user=CATALOGER, channel=REPORT)
    harness.wait(lambda: any("verified in Alma" in a for a in answers(harness, name)), timeout=30, what="linked")
    answer, _ = harness.command(f"history {iz}")
    shown = block_text(answer.json())
    assert f"IZ record {iz} before it was linked" in shown and f"<@{CATALOGER}>" in shown
    assert "Native plants of Washington" in shown  # its MARC, as mnemonic text
    # kept before the unique 035 route gave the IZ record the chosen record's (OrU) number
    assert not any(v.startswith("(OrU)") for v in before) and "(OrU)" not in shown
    # the command line gives every kept copy, whole
    monkeypatch.setenv("NZBOT_DB", str(harness.db_path))
    from bot.cli import main

    capsys.readouterr()
    assert main(["history", iz]) == 0
    printed = capsys.readouterr().out
    assert f"# IZ record {iz} kept" in printed and f"decided by {CATALOGER}" in printed and "=245" in printed
    # another member's channel, or none: nothing of it (the policy and the member's scope)
    refused, _ = harness.command(f"history {iz}", user=OUTSIDER, channel="COTHER001")
    assert "Native plants" in block_text(refused.json())  # single institution: every channel is its own


def test_preview_counts_the_records_whose_local_fields_linking_would_drop(harness):
    harness.start()
    iz = seed.CASES["unique"]
    record = harness.sim.state.iz[iz].marc.record()
    assert [f.tag for f in record.get_fields("590", "949") if not f.get_subfields("9")] == ["590", "949"]
    at_risk_set = harness.sim.state.make_set("Local fields at risk", [iz, seed.CASES["multi"]]).id
    _, name = harness.command(f"preview {at_risk_set}")
    said = block_text(harness.response(name).args)
    # the unique match will link and lose its 590 and 949; the multi-match will not link
    assert "1 record that will link carries local-looking fields" in said
    assert f"For example: {iz}." in said
