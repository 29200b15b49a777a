"""Multi-match cases over HTTP: the Program Manager's message, who may decide, the pick
ending in a verified link, double clicks, skip, contribute, re-check after a merge, a
failed link, batching within Alma's limits, and a restart while linking."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from nzbot.access import EVERY_MEMBER
from datetime import datetime, timedelta, timezone

import pytest

from alma.simulator import seed
from bot import action_ids
from tests.bot.conftest import CATALOGER, PM, REPORT, block_text, click, queue_message, review

LINK = f"{action_ids.LINK_CANDIDATE}:1"


def case_for(harness, iz_mms_id):
    return harness.wait(lambda: harness.store.open_case_for(iz_mms_id)
                        or next((c for c in harness.store.cases() if c.iz_mms_id == iz_mms_id), None),
                        what=f"a case for {iz_mms_id}")


def shown(harness, case_id):
    """The PM's copy of the case message, as it reads now."""
    ((channel, ts),) = harness.store.case_messages(case_id)
    return next(m for m in harness.stub.messages(channel) if m["ts"] == ts)


def state_of(harness, case_id, *states, timeout=20):
    return harness.wait(lambda: harness.store.case(case_id).state in states and harness.store.case(case_id),
                        timeout=timeout, what=f"case {case_id} to be {'/'.join(states)}")


def link_set(harness, *iz_ids, name="Cases test set"):
    set_id = harness.sim.state.make_set(name, list(iz_ids)).id
    harness.command(f"link {set_id}")
    return set_id


def test_a_job_with_multi_matches_gives_the_program_manager_one_queue_message(harness):
    # was: one DM per case. Now one message per job, in which its cases are reviewed.
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    case = case_for(harness, seed.CASES["multi"])
    channel, ts = queue_message(harness, case.link_job)
    assert channel.startswith("D")  # a DM to the Program Manager
    (summary,) = harness.stub.messages(channel)
    summary_text = block_text(summary)
    assert "1 multi-match case" in summary_text and "Link job test set" in summary_text
    (review_button, accept_all) = [e for b in summary["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert review_button["action_id"] == action_ids.REVIEW_CASES
    assert review_button["value"] == str(case.link_job)
    # its one case has a suggested pick (the full record over the minimal): accept it from here
    assert accept_all["action_id"] == action_ids.ACCEPT_ALL and accept_all["value"] == str(case.link_job)
    assert "1 by higher encoding level" in accept_all["confirm"]["text"]["text"]
    assert review(harness, case) == (channel, ts)  # the case shows in that message, in place
    message = shown(harness, case.id)
    assert len(harness.stub.messages(channel)) == 1  # no new message for the case
    text = block_text(message)
    assert seed.NZ_RECORDS["multi_a"] in text and seed.NZ_RECORDS["multi_b"] in text
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    links = [b for b in buttons if b["action_id"].startswith(action_ids.LINK_CANDIDATE)]
    assert len(links) == 2
    assert all(seed.CASES["multi"] in b["confirm"]["text"]["text"] for b in links)
    assert {b["value"] for b in links} == {f"{case.id}:{seed.NZ_RECORDS['multi_a']}",
                                           f"{case.id}:{seed.NZ_RECORDS['multi_b']}"}


def test_someone_else_clicking_is_refused_and_nothing_changes(harness):
    harness.start()
    link_set(harness, seed.CASES["multi"])
    case = case_for(harness, seed.CASES["multi"])
    answer, name = click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_a']}", user=CATALOGER)
    assert answer.status_code == 200
    refusal = harness.response(name)
    assert "Only the Program Manager" in block_text(refusal.args)
    assert refusal.args.get("response_type") == "ephemeral"
    time.sleep(0.5)
    assert harness.store.case(case.id).state == "open"
    assert any(r["action"] == action_ids.LINK_CANDIDATE and r["actor"] == CATALOGER
               and r["outcome"] == "refused: not the program manager" for r in harness.store.audit_rows())


def test_the_pick_becomes_a_verified_link_and_the_message_says_so(harness):
    harness.start()
    iz = seed.CASES["multi_three"]
    chosen = seed.NZ_RECORDS["multi_three_b"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    channel, ts = review(harness, case)
    click(harness, LINK, f"{case.id}:{chosen}", channel=channel, message_ts=ts)
    linked = state_of(harness, case.id, "linked", "failed")
    assert linked.state == "linked", linked.note
    assert harness.sim.state.linked_nz_id_of(iz) == chosen  # Alma really linked it
    assert linked.decided_by == PM and linked.chosen_nz_mms_id == chosen
    # was: the case's own message said "verified". Now the queue message moves on (here:
    # the job's only case was decided) and the job's thread says how the case ended.
    harness.wait(lambda: "every one has been decided" in block_text(
        next(m for m in harness.stub.messages(channel) if m["ts"] == ts)), what="the queue message done")
    harness.wait(lambda: any("linked and verified" in block_text(m) and chosen in block_text(m)
                             for m in harness.stub.messages(REPORT)), what="the verified link in the thread")
    # the link job ran on the 035 the chosen record alone carries
    run = next(r for r in harness.sim.state.runs.values() if r.params.get("non_serial_match_prefix"))
    assert run.params["non_serial_match_prefix"] == "(OrU)"
    assert "OtherSystem" in run.params["non_serial_match_profile"]
    # a reply in the thread of the job that found the case, naming who decided
    job = harness.store.link_job(case.link_job)
    harness.wait(lambda: any(m.get("thread_ts") == job.message_ts and f"<@{PM}>" in block_text(m)
                             for m in harness.stub.messages(REPORT)), what="the thread reply")


def handoffs(harness):
    from bot.case_notifier import HANDOFF_EVENT
    return [m for m in harness.stub.messages(REPORT)
            if (m.get("metadata") or {}).get("event_type") == HANDOFF_EVENT]


def test_without_an_nz_key_or_identifying_035_the_pick_goes_to_the_cataloger(harness):
    """Issue 10: the Metadata Editor steps go to the cataloger who started the job, in its
    thread; the PM's message says whom they went to and never holds the IZ steps."""
    harness.start()
    iz = seed.CASES["multi"]
    chosen = seed.NZ_RECORDS["multi_a"]
    link_set(harness, iz)  # started by CATALOGER
    case = case_for(harness, iz)
    review(harness, case)
    text = block_text(shown(harness, case.id))
    click(harness, LINK, f"{case.id}:{chosen}")
    handed = state_of(harness, case.id, "linking")
    assert iz in text and chosen in text  # the case as reviewed, before the pick
    assert handed.route.kind == "manual"
    job = harness.store.link_job(case.link_job)
    (message,) = harness.wait(lambda: handoffs(harness), what="the hand-off")
    assert message["thread_ts"] == job.message_ts
    text = block_text(message)
    assert f"<@{CATALOGER}>" in text and iz in text and chosen in text
    assert "Share with Network" in text and "Link* next to NZ record" in text
    # the queue message has moved on to the next case; the case, as the PM's message
    # would now read it (was: read back from the case's own message)
    from bot.case_messages import case_message
    harness.wait(lambda: f"went to <@{CATALOGER}>" in block_text(case_message(harness.store.case(case.id)).as_kwargs()),
                 what="the PM's message naming the cataloger")
    assert "Share with Network" not in block_text(case_message(harness.store.case(case.id)).as_kwargs())
    assert f"cannot point the link job at NZ record {chosen} alone" in block_text(
        case_message(harness.store.case(case.id)).as_kwargs())
    assert harness.store.case(case.id).handed_to == CATALOGER
    harness.sim.state.link(iz, chosen)  # the cataloger follows the steps in Alma
    assert state_of(harness, case.id, "linked").chosen_nz_mms_id == chosen
    harness.wait(lambda: any(m.get("thread_ts") == job.message_ts and "linked and verified" in block_text(m)
                             for m in harness.stub.messages(REPORT)), what="the thread told it is linked")
    assert len(handoffs(harness)) == 1


def test_a_case_sent_from_a_lookup_is_handed_to_whoever_sent_it(harness):
    harness.start()
    iz = seed.CASES["multi_language"]
    click(harness, action_ids.SEND_TO_PM, iz, user="UOTHER001", channel=REPORT)
    case = case_for(harness, iz)
    assert case.requested_by == "UOTHER001"
    click(harness, LINK, f"{case.id}:{case.candidate_ids[0]}")
    (message,) = harness.wait(lambda: handoffs(harness), what="the hand-off")
    assert not message.get("thread_ts") and "<@UOTHER001>" in block_text(message)
    harness.wait(lambda: "went to <@UOTHER001> (who sent the case)" in block_text(shown(harness, case.id)),
                 what="the PM's message naming the sender")


def test_two_clicks_at_once_act_once(harness):
    harness.start()
    iz = seed.CASES["multi_three"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    answers = []

    def press(nz):
        answers.append(click(harness, LINK, f"{case.id}:{nz}"))

    threads = [threading.Thread(target=press, args=(seed.NZ_RECORDS[f"multi_three_{s}"],)) for s in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status_code == 200 for a, _ in answers)
    # The acks come back before the clicks are acted on (Slack's 3 s): count the decisions
    # once all three have been, i.e. two told "already decided" and the case linked.
    refused = harness.wait(
        lambda: len([r for _, name in answers for r in harness.stub.responses(name)
                     if "already decided" in block_text(r.args)]) == 2,
        what="the two losing clicks told it was decided")
    assert refused
    final = state_of(harness, case.id, "linked")
    decisions = [r for r in harness.store.audit_rows() if r["action"] == "case_link"]
    assert len(decisions) == 1
    assert decisions[0]["detail"] == final.chosen_nz_mms_id
    assert harness.sim.state.linked_nz_id_of(iz) == final.chosen_nz_mms_id


def test_a_click_on_a_decided_case_changes_nothing(harness):
    harness.start()
    iz = seed.CASES["multi_three"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    click(harness, action_ids.SKIP_CASE, str(case.id))
    state_of(harness, case.id, "skipped")
    _, name = click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_three_a']}")
    assert "already decided" in block_text(harness.response(name).args)
    time.sleep(0.5)
    assert harness.store.case(case.id).state == "skipped"
    assert harness.sim.state.linked_nz_id_of(iz) is None


def test_skip_for_now(harness):
    harness.start()
    link_set(harness, seed.CASES["multi"])
    case = case_for(harness, seed.CASES["multi"])
    channel, ts = review(harness, case)
    click(harness, action_ids.SKIP_CASE, str(case.id), channel=channel, message_ts=ts)
    skipped = state_of(harness, case.id, "skipped")
    assert skipped.decided_by == PM
    # was: "Skipped for now" in the case's message; now the queue message moves on
    harness.wait(lambda: "every one has been decided" in block_text(
        next(m for m in harness.stub.messages(channel) if m["ts"] == ts)), what="the queue message done")
    harness.wait(lambda: any("skipped it for now" in block_text(m) for m in harness.stub.messages(REPORT)),
                 what="the skip in the job's thread")


def test_contribute_as_new_imports_the_record_and_links_to_it(harness):
    harness.start()
    iz = seed.CASES["multi"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    click(harness, action_ids.CONTRIBUTE_NEW, str(case.id))
    done = state_of(harness, case.id, "linked", "failed")
    assert done.state == "linked", done.note
    new_nz = harness.sim.state.linked_nz_id_of(iz)
    assert new_nz and new_nz not in case.candidate_ids and done.chosen_nz_mms_id == new_nz
    run = [r for r in harness.sim.state.runs.values() if r.params.get("contribute_nz") == "true"]
    assert len(run) == 1


def test_recheck_after_the_nz_duplicates_are_merged_links_the_ordinary_way(harness):
    harness.start()
    iz = seed.CASES["multi"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    click(harness, action_ids.RECHECK_CASE, str(case.id))  # nothing merged yet
    reopened = state_of(harness, case.id, "open")
    harness.wait(lambda: harness.store.case(case.id).note, what="the re-check's note")
    assert "still carry" in harness.store.case(case.id).note and reopened.decision is None
    harness.sim.state.merge_nz(seed.NZ_RECORDS["multi_a"], [seed.NZ_RECORDS["multi_b"]])
    click(harness, action_ids.RECHECK_CASE, str(case.id))
    linked = state_of(harness, case.id, "linked")
    assert linked.chosen_nz_mms_id == seed.NZ_RECORDS["multi_a"]
    assert harness.sim.state.linked_nz_id_of(iz) == seed.NZ_RECORDS["multi_a"]


def test_a_link_alma_did_not_make_as_chosen_is_reported_as_failed_and_stays_open(harness):
    harness.sim.job_seconds = 1.5
    harness.start()
    iz = seed.CASES["multi_three"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_three_a']}")
    # meanwhile someone links the record elsewhere in Alma's own UI
    harness.sim.state.link(iz, seed.NZ_RECORDS["multi_three_c"])
    failed = state_of(harness, case.id, "failed", "linked")
    assert failed.state == "failed"
    assert seed.NZ_RECORDS["multi_three_c"] in failed.note
    # a failed case is back in the queue: reviewing shows it again, warning first
    review(harness, case)
    harness.wait(lambda: "could not be verified" in block_text(shown(harness, case.id)),
                 what="the failure in the message")
    assert any(b["type"] == "actions" for b in shown(harness, case.id)["blocks"]), "buttons are back"


def test_decisions_are_batched_into_few_link_job_runs(harness):
    harness.sim.job_seconds = 1.0
    harness.overrides["case_batch_seconds"] = 4.0  # decisions within 4 s share one run
    harness.start()
    records = [seed.add_multi_match(harness.sim.state, f"Batched title {n}", f"3300000{n}",
                                    (f"(OrU)c{n}01", f"(OrU)c{n}02")) for n in range(4)]
    link_set(harness, *[iz for iz, _ in records])
    cases = [case_for(harness, iz) for iz, _ in records]
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the first job's report")
    runs_before = len(harness.sim.state.runs)
    for case, (_, nz_ids) in zip(cases, records):
        click(harness, LINK, f"{case.id}:{nz_ids[1]}")
    for case, (iz, nz_ids) in zip(cases, records):
        assert state_of(harness, case.id, "linked").chosen_nz_mms_id == nz_ids[1]
        assert harness.sim.state.linked_nz_id_of(iz) == nz_ids[1]
    assert len({harness.store.case(c.id).linking_job for c in cases}) == 1
    assert len(harness.sim.state.runs) - runs_before == 1  # four decisions, one run


def test_a_restart_while_linking_still_ends_in_one_verified_link(harness):
    harness.sim.job_seconds = 2.0
    harness.start()
    iz = seed.CASES["multi_three"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    channel, ts = review(harness, case)
    click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_three_a']}", channel=channel, message_ts=ts)
    state_of(harness, case.id, "linking")
    harness.wait(lambda: harness.store.case(case.id).linking_job, what="the link job")
    harness.stop()
    time.sleep(0.5)
    harness.start()
    assert state_of(harness, case.id, "linked").chosen_nz_mms_id == seed.NZ_RECORDS["multi_three_a"]
    job = harness.store.link_job(case.link_job)
    time.sleep(1.0)
    replies = [m for m in harness.stub.messages(REPORT)
               if m.get("thread_ts") == job.message_ts and "linked and verified" in block_text(m)]
    assert len(replies) == 1
    # the same queue message, updated in place (was: the case's own message)
    assert harness.store.queue_messages_of(case.link_job) == [(channel, ts)]
    assert len(harness.stub.messages(channel)) == 1


def test_send_to_the_program_manager_from_a_lookup(harness):
    harness.start()
    iz = seed.CASES["multi_language"]
    _, name = click(harness, action_ids.SEND_TO_PM, iz, user=CATALOGER, channel=REPORT)
    answer = harness.response(name)
    assert "went to the Program Manager" in block_text(answer.args)
    case = harness.store.open_case_for(iz)
    assert case is not None and len(case.candidates) == 2
    harness.wait(lambda: harness.store.case_messages(case.id), what="the PM's message")
    _, again = click(harness, action_ids.SEND_TO_PM, iz, user=CATALOGER, channel=REPORT)
    assert "already has case" in block_text(harness.response(again).args)
    assert len(harness.store.cases()) == 1


def test_forged_button_values_are_refused_and_change_nothing(harness):
    harness.start()
    link_set(harness, seed.CASES["multi"])
    case = case_for(harness, seed.CASES["multi"])
    for action, value, words in (
        (LINK, f"{case.id}:99999999990006390", "not one of"),
        (LINK, "424242:99999999990006390", "no case"),
        (LINK, "banana", "no case"),
        (action_ids.SKIP_CASE, "", "no case"),
        (action_ids.SEND_TO_PM, "not-an-id", "MMS ID"),
    ):
        _, name = click(harness, action, value, user=PM if action != action_ids.SEND_TO_PM else CATALOGER)
        assert words in block_text(harness.response(name).args), (action, value)
    assert harness.store.case(case.id).state == "open"
    assert len(harness.store.cases()) == 1


def test_nz_cases_lists_open_cases_and_exports_decisions(harness):
    harness.start()
    link_set(harness, seed.CASES["multi"], seed.CASES["multi_three"])
    first = case_for(harness, seed.CASES["multi"])
    second = case_for(harness, seed.CASES["multi_three"])
    queue_message(harness, second.link_job)
    asked = len(harness.stub.calls("chat.getPermalink"))
    _, name = harness.command("cases")
    listing = block_text(harness.response(name).args)
    assert seed.CASES["multi"] in listing and seed.CASES["multi_three"] in listing
    assert "|open>" in listing  # a link to the job's queue message, kept when it was posted
    assert len(harness.stub.calls("chat.getPermalink")) == asked  # none asked for the listing
    click(harness, LINK, f"{second.id}:{seed.NZ_RECORDS['multi_three_b']}")
    state_of(harness, second.id, "linked")
    answer, csv_name = harness.command("cases csv")
    assert "Building" in block_text(answer.json())  # was: the CSV in the ack; now after it
    text = block_text(harness.response(csv_name).args)
    assert seed.NZ_RECORDS["multi_three_b"] in text
    from nzbot.cases import decisions_csv
    rows = list(csv.DictReader(io.StringIO(decisions_csv(harness.store, EVERY_MEMBER))))
    row = next(r for r in rows if r["case"] == str(second.id))
    assert row["kept_nz_mms_id"] == seed.NZ_RECORDS["multi_three_b"]
    assert set(row["duplicate_nz_mms_ids"].split()) == {
        seed.NZ_RECORDS["multi_three_a"], seed.NZ_RECORDS["multi_three_c"]}
    assert next(r for r in rows if r["case"] == str(first.id))["state"] == "open"


def test_a_decision_on_a_record_deleted_meanwhile_fails_plainly(harness):
    harness.start()
    iz = seed.CASES["multi_three"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    harness.bot.scheduler.stop()  # hold the clock: delete the record before the decision is carried out
    del harness.sim.state.iz[iz]
    click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_three_a']}")
    failed = state_of(harness, case.id, "failed", "linked")
    assert failed.state == "failed" and "no longer in Alma" in failed.note


def test_a_decision_joins_a_run_still_waiting_for_alma(harness):
    harness.start()
    records = [seed.add_multi_match(harness.sim.state, f"Joined title {n}", f"3400000{n}",
                                    (f"(OrU)d{n}01", f"(OrU)d{n}02")) for n in range(2)]
    link_set(harness, *[iz for iz, _ in records])
    cases = [case_for(harness, iz) for iz, _ in records]
    harness.wait(lambda: harness.store.link_jobs("reported"), what="the first job's report")
    harness.sim.state.job_limits.max_running_api_jobs = 0  # Alma runs nothing for now
    first, second = zip(cases, records)
    click(harness, LINK, f"{first[0].id}:{first[1][1][0]}")
    run = harness.wait(lambda: harness.store.case(first[0].id).linking_job, what="the first run")
    harness.wait(lambda: harness.store.link_job(run).note, what="the run waiting for Alma")
    click(harness, LINK, f"{second[0].id}:{second[1][1][0]}")
    harness.wait(lambda: harness.store.case(second[0].id).linking_job, what="the second decision batched")
    assert harness.store.case(second[0].id).linking_job == run  # joined, not a run of its own
    assert harness.store.link_job(run).set_size == 2
    runs_before = len(harness.sim.state.runs)
    harness.sim.state.job_limits.max_running_api_jobs = 3
    for case, (iz, nz_ids) in zip(cases, records):
        assert state_of(harness, case.id, "linked").chosen_nz_mms_id == nz_ids[0]
        assert harness.sim.state.linked_nz_id_of(iz) == nz_ids[0]
    assert len(harness.sim.state.runs) - runs_before == 1
    assert any(r["action"] == "case_batch_joined" for r in harness.store.audit_rows())


def test_a_hand_off_posted_but_not_recorded_is_found_again_not_posted_twice(harness):
    """As after a kill -9 between posting the hand-off and recording it: the next round
    finds the message by its metadata (in the job's thread, or at the top of the channel)."""
    harness.start()
    iz, sent = seed.CASES["multi"], seed.CASES["multi_language"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    click(harness, action_ids.SEND_TO_PM, sent, user="UOTHER001", channel=REPORT)
    other = case_for(harness, sent)
    click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_a']}")
    click(harness, LINK, f"{other.id}:{other.candidate_ids[0]}")
    harness.wait(lambda: all(harness.store.case(c.id).handoff_ts for c in (case, other)), what="both hand-offs")
    posted = {c.id: harness.store.case(c.id).handoff_ts for c in (case, other)}
    assert len(handoffs(harness)) == 2
    for c in (case, other):
        harness.store.db["cases"].update(c.id, {"handoff_ts": None})  # the record of it lost
    harness.wait(lambda: all(harness.store.case(c.id).handoff_ts for c in (case, other)), what="found again")
    assert {c.id: harness.store.case(c.id).handoff_ts for c in (case, other)} == posted
    assert len(handoffs(harness)) == 2


def _outcome_post(args) -> bool:
    return bool(args.get("thread_ts")) and "linked and verified" in json.dumps(args.get("blocks"))


def _outcomes(harness, job):
    return [m for m in harness.stub.messages(REPORT)
            if m.get("thread_ts") == job.message_ts and "linked and verified" in block_text(m)]


@pytest.mark.parametrize("trouble", ["refused", "answer_lost"])
def test_a_case_outcome_slack_did_not_take_is_sent_again_once(harness, trouble):
    """The outcome reply in the job's thread: Slack refuses it (nothing stored), or stores it
    and the connection drops (the answer lost). Either way a later round sees to it, and
    the thread says it once."""
    harness.start()
    harness.bot.services.cases.notifier.resend_after_seconds = 0.5  # 60 s in the bot
    iz = seed.CASES["multi_three"]
    link_set(harness, iz)
    case = case_for(harness, iz)
    if trouble == "refused":
        harness.stub.fail_next("chat.postMessage", "internal_error", predicate=_outcome_post)
    else:
        harness.stub.drop_answers("chat.postMessage", _outcome_post)
    click(harness, LINK, f"{case.id}:{seed.NZ_RECORDS['multi_three_a']}")
    state_of(harness, case.id, "linked")
    job = harness.store.link_job(case.link_job)
    harness.wait(lambda: _outcomes(harness, job), what="the outcome in the job's thread")
    time.sleep(1.0)  # five more rounds: nothing said twice
    assert len(_outcomes(harness, job)) == 1
    posts = [c for c in harness.stub.calls("chat.postMessage") if _outcome_post(c.args)]
    if trouble == "refused":
        assert len(posts) == 2  # refused, then sent again
    else:  # stored the first time: found in the thread by its metadata, not posted again
        assert len(posts) == 1 and harness.stub.calls("conversations.replies")
    assert harness.store.unposted("case_outcome:", before=datetime.now(timezone.utc) + timedelta(days=1)) == []
