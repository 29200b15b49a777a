"""The suggested pick over HTTP: the case message gives its reasons, "Accept the suggestion"
links it through the routes and the read-back like any pick, "Accept all N suggestions"
decides every suggested case of a job and leaves the others, and the cases CSV says how
often the Program Manager followed the suggestion."""

from __future__ import annotations

import csv
import io
import time

from alma.simulator import seed
from alma.suggestion import Rule
from bot import action_ids
from nzbot.access import EVERY_MEMBER
from nzbot.cases import decisions_csv
from tests.bot.conftest import CATALOGER, PM, REPORT, block_text, click, queue_message, review
from tests.bot.test_link_routes import with_nz_key

SUGGESTED = {  # IZ record -> (the NZ record suggested, the rule that set it ahead)
    "multi": ("multi_a", Rule.ENCODING_LEVEL),
    "multi_via_z": ("multi_via_z_b", Rule.OCLC_SURVIVOR),
    "multi_language": ("multi_language_eng", Rule.SAME_LANGUAGE),
    "multi_ebook": ("multi_ebook_print", Rule.SAME_KIND),
}
TRUE_DUPLICATES = ("multi_three", "serial_multi")


def run_the_unlinked_set(harness):
    """The sample's unlinked set linked; with the NZ's key, so that a pick no 035 singles
    out links by the token route."""
    harness.command(f"link {seed.SETS['unlinked']}")
    cases = harness.wait(lambda: (lambda found: found if len(found) == 6 else None)(
        [c for c in harness.store.cases() if c.link_job is not None]), timeout=30, what="the job's six cases")
    return {name: next(c for c in cases if c.iz_mms_id == seed.CASES[name]) for name in (*SUGGESTED, *TRUE_DUPLICATES)}


def shown_message(harness, case_id: int) -> dict:
    ((channel, ts),) = harness.store.case_messages(case_id)
    return next(m for m in harness.stub.messages(channel) if m["ts"] == ts)


def buttons(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_each_case_keeps_its_suggestion_and_the_reasons(harness):
    with_nz_key(harness).start()
    cases = run_the_unlinked_set(harness)
    for name, (nz, rule) in SUGGESTED.items():
        assert (cases[name].suggested_nz_mms_id, cases[name].suggested_rule) == (seed.NZ_RECORDS[nz], rule), name
    for name in TRUE_DUPLICATES:
        assert cases[name].suggested_nz_mms_id is None
        assert "look like true duplicates" in cases[name].suggestion_reasons[0]
    assert cases["multi_ebook"].suggestion_reasons == (
        "Candidate 1 is Book, online resource; the IZ record is Book, volume",)


def test_the_program_manager_accepts_the_suggestion_and_it_is_read_back(harness):
    with_nz_key(harness).start()
    case = run_the_unlinked_set(harness)["multi"]
    review(harness, case)
    message = shown_message(harness, case.id)
    text = block_text(message).replace("*", "")
    assert "Suggested: candidate 1. Candidate 2's encoding level is Minimal (Leader/17), candidate 1's Full" in text
    (accept,) = [b for b in buttons(message) if b["action_id"] == action_ids.ACCEPT_SUGGESTION]
    assert accept["value"] == f"{case.id}:{seed.NZ_RECORDS['multi_a']}"
    click(harness, accept["action_id"], accept["value"])
    harness.wait(lambda: harness.store.case(case.id).state == "linked", timeout=30, what="the case linked")
    assert harness.sim.state.linked_nz_id_of(case.iz_mms_id) == seed.NZ_RECORDS["multi_a"]  # read back in Alma
    assert any(r["action"] == "case_accept" and r["actor"] == PM and "encoding_level" in r["detail"]
               for r in harness.store.audit_rows())
    row = next(r for r in csv.DictReader(io.StringIO(decisions_csv(harness.store, EVERY_MEMBER)))
               if r["case"] == str(case.id))
    assert (row["suggested_nz_mms_id"], row["suggested_rule"], row["followed_suggestion"]) == (
        seed.NZ_RECORDS["multi_a"], "encoding_level", "yes")


def test_a_pick_against_the_suggestion_is_counted_as_such(harness):
    with_nz_key(harness).start()
    case = run_the_unlinked_set(harness)["multi"]
    review(harness, case)
    click(harness, f"{action_ids.LINK_CANDIDATE}:2", f"{case.id}:{seed.NZ_RECORDS['multi_b']}")
    harness.wait(lambda: harness.store.case(case.id).state == "linked", timeout=30, what="the case linked")
    row = next(r for r in csv.DictReader(io.StringIO(decisions_csv(harness.store, EVERY_MEMBER)))
               if r["case"] == str(case.id))
    assert (row["kept_nz_mms_id"], row["followed_suggestion"]) == (seed.NZ_RECORDS["multi_b"], "no")


def test_a_suggestion_changed_since_the_message_is_refused_and_nothing_is_decided(harness):
    with_nz_key(harness).start()
    case = run_the_unlinked_set(harness)["multi"]
    _, name = click(harness, action_ids.ACCEPT_SUGGESTION, f"{case.id}:{seed.NZ_RECORDS['multi_b']}")
    said = block_text(harness.response(name).args)
    assert "suggestion for case" in said and "changed" in said and "nothing was decided" in said
    time.sleep(0.3)
    assert harness.store.case(case.id).state == "open"


def test_accept_all_links_every_suggested_case_of_the_job_and_leaves_the_others(harness):
    with_nz_key(harness).start()
    cases = run_the_unlinked_set(harness)
    job = cases["multi"].link_job
    channel, ts = queue_message(harness, job)
    summary = harness.wait(lambda: next((m for m in harness.stub.messages(channel) if m["ts"] == ts
                                         and any(b["action_id"] == action_ids.ACCEPT_ALL for b in buttons(m))), None),
                           what="'Accept all' on the queue message")
    (accept_all,) = [b for b in buttons(summary) if b["action_id"] == action_ids.ACCEPT_ALL]
    assert accept_all["text"]["text"] == "Accept all 4 suggestions"
    confirm = accept_all["confirm"]["text"]["text"]
    for words in ("1 by same kind of resource", "1 by same language of cataloging", "1 by OCLC's surviving record",
                  "1 by higher encoding level", "Cases without a suggestion stay in the queue"):
        assert words in confirm
    assert "2 cases have none" in block_text(summary)
    # a cataloger cannot press it (the PM's queue is the PM's)
    _, refused = click(harness, action_ids.ACCEPT_ALL, accept_all["value"], user=CATALOGER, channel=REPORT)
    assert "Program Manager" in block_text(harness.response(refused).args)
    # the Program Manager presses it: every suggested case links to its suggestion
    _, name = click(harness, action_ids.ACCEPT_ALL, accept_all["value"], channel=channel, message_ts=ts)
    for case_name, (nz, _) in SUGGESTED.items():
        harness.wait(lambda: harness.sim.state.linked_nz_id_of(seed.CASES[case_name]) == seed.NZ_RECORDS[nz],
                     timeout=40, what=f"{case_name} linked to {nz}")
        assert harness.store.case(cases[case_name].id).decided_by == PM
    for case_name in TRUE_DUPLICATES:  # no suggestion: still the Program Manager's to decide
        assert harness.store.case(cases[case_name].id).state == "open"
        assert harness.sim.state.linked_nz_id_of(seed.CASES[case_name]) is None
    answer = block_text(harness.response(name).args)  # the queue message, replaced in place
    assert "accepted 4 suggestions" in answer
    assert sum(r["action"] == "case_accept" for r in harness.store.audit_rows()) == 4
    # pressed again (a double click): nothing more is decided
    click(harness, action_ids.ACCEPT_ALL, accept_all["value"], channel=channel, message_ts=ts)
    time.sleep(0.5)
    assert sum(r["action"] == "case_accept" for r in harness.store.audit_rows()) == 4


def test_the_preview_and_the_jobs_thread_count_the_multi_matches_from_an_oclc_merge(harness):
    with_nz_key(harness).start()
    _, name = harness.command(f"preview {seed.SETS['unlinked']}")
    said = harness.wait(lambda: next((block_text(c.args) for c in harness.stub.responses(name)
                                      if "Link job preview" in block_text(c.args)), None), timeout=30, what="the preview")
    assert "1 multi-match comes from an OCLC merge" in said
    run_the_unlinked_set(harness)
    found = harness.wait(lambda: next((c.args for c in harness.stub.calls("chat.postMessage") if c.args.get("thread_ts")
                                       and "records are multi-matches" in block_text(c.args)), None),
                         timeout=30, what="the cases found, in the job's thread")
    assert ("4 have a suggested pick (1 by same kind of resource, 1 by same language of cataloging, "
            "1 by OCLC's surviving record, 1 by higher encoding level). 1 comes from an OCLC merge.") in block_text(found)
