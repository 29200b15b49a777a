"""nzbot/cases.py in-process: a case shown to the Program Manager, who alone may decide;
a pick ending in a link verified in Alma; a second decision refused; skip; re-check;
decisions batched into one link-job run; a hand-off watched. No Slack, no bot HTTP."""

from __future__ import annotations

import pytest

from alma.errors import BadInput
from alma.simulator import seed
from nzbot.cases import AlreadyDecided
from tests.nzbot.conftest import CATALOGER, PM


def open_case(workflow, iz_mms_id):
    """Runs a link job on the record; returns the case its re-check opened."""
    job = workflow.link_set(iz_mms_id)
    workflow.until(lambda: workflow.store.link_job(job.id).reconciled, "the re-check after the job")
    case = workflow.store.open_case_for(iz_mms_id)
    assert case is not None, f"no case for {iz_mms_id}"
    return case


def state_of(workflow, case_id, *states):
    return workflow.until(lambda: workflow.store.case(case_id).state in states and workflow.store.case(case_id),
                          f"case {case_id} to be {'/'.join(states)}")


def test_a_new_case_is_shown_to_the_program_manager_once(workflow):
    # was: the case itself delivered (a DM per case); now its job's one queue message
    case = open_case(workflow, seed.CASES["multi"])
    workflow.round()
    workflow.round()
    assert [(job.id, counts) for job, counts in workflow.notifier.queued] == [(case.link_job, {"open": 1})]
    assert workflow.notifier.shown == []  # shown when the Program Manager reviews the queue


def test_a_forged_candidate_or_decision_is_refused(workflow):
    case = open_case(workflow, seed.CASES["multi"])
    with pytest.raises(BadInput, match="not one of"):
        workflow.cases.decide(case.id, PM, "link", seed.NZ_RECORDS["unique"])
    with pytest.raises(BadInput, match="Unknown decision"):
        workflow.cases.decide(case.id, PM, "delete")
    with pytest.raises(BadInput, match="no case"):
        workflow.cases.decide("12; DROP TABLE cases", PM, "skip")
    assert workflow.store.case(case.id).state == "open"


def test_the_pick_becomes_a_link_verified_in_alma(workflow):
    iz, chosen = seed.CASES["multi_three"], seed.NZ_RECORDS["multi_three_b"]
    case = open_case(workflow, iz)
    workflow.cases.decide(case.id, PM, "link", chosen)
    linked = state_of(workflow, case.id, "linked", "failed")
    assert linked.state == "linked", linked.note
    assert workflow.sim.state.linked_nz_id_of(iz) == chosen  # Alma really linked it
    assert linked.decided_by == PM and linked.chosen_nz_mms_id == chosen
    run = workflow.store.link_job(linked.linking_job)
    assert run.match_prefix == "(OrU)"  # the 035 only the chosen record carries
    ((settled, revealed_by),) = workflow.notifier.settled
    assert settled.id == case.id and revealed_by.id == case.link_job


def test_a_second_decision_is_refused_and_the_first_stands(workflow):
    case = open_case(workflow, seed.CASES["multi_three"])
    first = seed.NZ_RECORDS["multi_three_a"]
    workflow.cases.decide(case.id, PM, "link", first)
    with pytest.raises(AlreadyDecided):
        workflow.cases.decide(case.id, PM, "link", seed.NZ_RECORDS["multi_three_c"])
    with pytest.raises(AlreadyDecided):
        workflow.cases.decide(case.id, PM, "skip")
    assert state_of(workflow, case.id, "linked").chosen_nz_mms_id == first
    assert len([r for r in workflow.store.audit_rows() if r["action"] == "case_link"]) == 1


def test_skip_for_now_settles_the_case_and_changes_nothing_in_alma(workflow):
    iz = seed.CASES["multi"]
    case = open_case(workflow, iz)
    skipped = workflow.cases.decide(case.id, PM, "skip")
    assert skipped.state == "skipped"
    assert [c.id for c, _ in workflow.notifier.settled] == [case.id]
    runs_before = len(workflow.sim.state.runs)
    workflow.round()
    assert len(workflow.sim.state.runs) == runs_before and workflow.sim.state.linked_nz_id_of(iz) is None


def test_decisions_made_together_share_one_link_job_run(workflow):
    records = [seed.add_multi_match(workflow.sim.state, f"Batched title {n}", f"3300000{n}",
                                    (f"(OrU)c{n}01", f"(OrU)c{n}02")) for n in range(3)]
    job = workflow.link_set(*[iz for iz, _ in records])
    workflow.until(lambda: workflow.store.link_job(job.id).reconciled, "the re-check after the job")
    cases = [workflow.store.open_case_for(iz) for iz, _ in records]
    runs_before = len(workflow.sim.state.runs)
    workflow.cases.batch_seconds = 60.0  # a decision waits this long for others
    for case, (_, nz_ids) in zip(cases, records):
        workflow.cases.decide(case.id, PM, "link", nz_ids[1])
    workflow.round()
    assert all(workflow.store.case(c.id).state == "linking" and workflow.store.case(c.id).linking_job is None
               for c in cases)  # still waiting for others to join
    workflow.cases.batch_seconds = 0.0
    for case, (iz, nz_ids) in zip(cases, records):
        assert state_of(workflow, case.id, "linked").chosen_nz_mms_id == nz_ids[1]
        assert workflow.sim.state.linked_nz_id_of(iz) == nz_ids[1]
    assert len({workflow.store.case(c.id).linking_job for c in cases}) == 1
    assert len(workflow.sim.state.runs) - runs_before == 1  # three decisions, one run


def test_a_pick_without_an_identifying_035_is_handed_off_and_watched(workflow):
    iz, chosen = seed.CASES["multi"], seed.NZ_RECORDS["multi_a"]
    case = open_case(workflow, iz)
    workflow.cases.decide(case.id, PM, "link", chosen)
    handed = state_of(workflow, case.id, "linking")
    workflow.round()
    assert handed.route.kind == "manual" and workflow.store.case(case.id).state == "linking"
    workflow.sim.state.link(iz, chosen)  # a cataloger follows the Metadata Editor steps
    assert state_of(workflow, case.id, "linked").chosen_nz_mms_id == chosen


def test_recheck_after_the_duplicates_are_merged_links_the_ordinary_way(workflow):
    iz = seed.CASES["multi"]
    case = open_case(workflow, iz)
    keep, drop = seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]
    workflow.sim.state.merge_nz(keep, [drop])  # the Program Manager merges the NZ duplicates
    workflow.cases.decide(case.id, PM, "recheck")
    linked = state_of(workflow, case.id, "linked", "failed", "open")
    assert linked.state == "linked", linked.note
    assert workflow.sim.state.linked_nz_id_of(iz) == keep
    assert workflow.store.link_job(linked.linking_job).match_prefix == ""  # Unique OCLC


def test_a_recheck_that_still_finds_several_reopens_the_case_saying_so(workflow):
    case = open_case(workflow, seed.CASES["multi"])
    workflow.cases.decide(case.id, PM, "recheck")
    reopened = state_of(workflow, case.id, "open")
    assert reopened.note == "Re-checked: 2 NZ records still carry its OCLC number."
    assert reopened.decision is None


def test_a_decision_made_while_a_round_runs_is_started_when_that_round_ends(workflow):
    """Was: advance() after a click returned at once when a round was running (its lock
    taken without waiting), and the decision waited for the scheduler's next round."""
    import threading

    case = open_case(workflow, seed.CASES["multi"])
    inside, release = threading.Event(), threading.Event()
    rounds = []

    def held_refresh() -> None:  # the round's last step: the first round is held here
        rounds.append(workflow.store.case(case.id).state)
        if len(rounds) == 1:
            inside.set()
            release.wait(10)

    workflow.notifier.refresh_home = held_refresh
    running = threading.Thread(target=workflow.cases.advance)
    running.start()
    assert inside.wait(10)
    workflow.cases.decide(case.id, PM, "link", seed.NZ_RECORDS["multi_a"])
    workflow.cases.advance()  # the click's "start on it now", while a round runs: returns at once
    assert rounds == ["open"] and workflow.store.case(case.id).state == "deciding"
    release.set()
    running.join(10)
    assert len(rounds) == 2, "the running round went round once more, for the click"
    assert workflow.store.case(case.id).state == "linking"  # routed with no scheduler round


def test_a_decided_record_whose_marc_broke_meanwhile_fails_plainly_and_is_not_linked(workflow):
    """Its MARC cannot be kept before the link (nor read), so the case fails saying so, once,
    instead of waiting on it every round."""
    from dataclasses import replace as changed

    from tests.alma.unreadable import LEADER

    iz = seed.CASES["multi"]
    case = open_case(workflow, iz)
    bib = workflow.sim.state.iz[iz]
    broken = changed(bib.marc, leader=LEADER, _xml="<record><leader>" + LEADER + "</leader><datafield tag=")
    workflow.sim.state.iz[iz] = changed(bib, marc=broken)
    workflow.cases.decide(case.id, PM, "merge", seed.NZ_RECORDS["multi_a"])
    failed = state_of(workflow, case.id, "failed")
    assert "can't be read" in failed.note and workflow.sim.state.linked_nz_id_of(iz) is None


def test_a_cataloger_link_that_failed_and_is_decided_again_by_the_pm_is_the_pms(workflow):
    """A decision belongs to whoever made it last: the cataloger's answer is no longer
    updated, and the CSV says the Program Manager decided."""
    case = open_case(workflow, seed.CASES["multi"])
    workflow.cases.cataloger_link(seed.CASES["multi"], seed.NZ_RECORDS["multi_a"], CATALOGER,
                                  answer_url="http://127.0.0.1:9/answer", answer_channel="CREPORT01")
    assert workflow.store.case(case.id).by_cataloger
    workflow.store.move_case(case.id, ("deciding", "linking"), "failed", note="as if Alma refused")
    decided = workflow.cases.decide(case.id, PM, "skip")
    assert not decided.by_cataloger and decided.answer_url is None and decided.decided_by == PM
