"""The states of link jobs, cases and link tokens: one table of moves each, checked by the
store's compare-and-set, and words for every state."""

from __future__ import annotations

import pytest

from nzbot.states import (
    CASE_MOVES,
    CASE_WORDS,
    JOB_MOVES,
    JOB_WORDS,
    TOKEN_MOVES,
    TOKEN_WORDS,
    BadMove,
    CaseState,
    Decision,
    JobState,
    RouteKind,
    TokenState,
)
from nzbot.store import Store


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(str(tmp_path / "nzbot.db"))


def test_values_are_the_strings_the_database_holds() -> None:
    # The rows written before the states were types read unchanged: no migration.
    assert {s.value for s in JobState} == {"queued", "starting", "running", "finished", "reporting",
                                           "reported", "refused"}
    assert {s.value for s in CaseState} == {"open", "deciding", "linking", "linked", "failed", "skipped"}
    assert {s.value for s in TokenState} == {"placing", "on_nz", "on_iz", "removing", "removed"}
    assert {d.value for d in Decision} == {"link", "merge", "contribute", "recheck", "skip"}
    assert {r.value for r in RouteKind} == {"other_system", "unique", "contribute", "manual", "token", "merge"}


@pytest.mark.parametrize("kind, moves, words", [(JobState, JOB_MOVES, JOB_WORDS),
                                                (CaseState, CASE_MOVES, CASE_WORDS),
                                                (TokenState, TOKEN_MOVES, TOKEN_WORDS)])
def test_every_state_has_its_moves_and_its_words(kind, moves, words) -> None:
    assert set(moves) == set(kind) and set(words) == set(kind)
    assert all(words[s].strip() and words[s] != s.value.replace("_", " ") or s.value == "linked" for s in kind)
    assert all(s.words == words[s] for s in kind)


def test_the_store_hands_out_states_as_types(store: Store) -> None:
    job = store.add_link_job(set_id="1", set_name="s", set_size=1, requested_by="U1", channel="C1",
                             state=JobState.QUEUED)
    case = store.open_case("9911111111106391", "t", [{"mms_id": "99222"}], job.id)
    token = store.add_link_token(case.id, "(NZBOT)c1-abcd", "99222", "9911111111106391")
    assert store.link_job(job.id).state is JobState.QUEUED
    assert store.case(case.id).state is CaseState.OPEN
    assert store.link_token(token.id).state is TokenState.PLACING
    assert store.db.execute("SELECT state FROM link_jobs").fetchone()[0] == "queued"


def test_a_move_the_table_forbids_is_refused_and_changes_nothing(store: Store) -> None:
    job = store.add_link_job(set_id="1", set_name="s", set_size=1, requested_by="U1", channel="C1",
                             state=JobState.QUEUED)
    with pytest.raises(BadMove, match="queued to reported"):
        store.move_link_job(job.id, JobState.QUEUED, JobState.REPORTED, note="skipped ahead")
    with pytest.raises(BadMove):
        store.move_link_job(job.id, "queued", "done")  # no such state
    assert store.link_job(job.id).state is JobState.QUEUED and store.link_job(job.id).note is None
    assert store.move_link_job(job.id, JobState.QUEUED, JobState.STARTING)

    case = store.open_case("9911111111106391", "t", [{"mms_id": "99222"}], None)
    with pytest.raises(BadMove, match="open to linked"):
        store.move_case(case.id, (CaseState.OPEN, CaseState.DECIDING), CaseState.LINKED)
    assert store.case(case.id).state is CaseState.OPEN
    token = store.add_link_token(case.id, "(NZBOT)c1-abcd", "99222", "9911111111106391")
    with pytest.raises(BadMove):
        store.move_link_token(token.id, TokenState.PLACING, TokenState.REMOVED)  # never unchecked
    assert store.move_link_token(token.id, TokenState.PLACING, TokenState.REMOVING)


def test_a_move_to_the_same_state_is_a_guarded_update(store: Store) -> None:
    job = store.add_link_job(set_id="1", set_name="s", set_size=1, requested_by="U1", channel="C1",
                             state=JobState.QUEUED)
    assert store.move_link_job(job.id, JobState.QUEUED, JobState.QUEUED, note="waiting")
    assert not store.move_link_job(job.id, JobState.RUNNING, JobState.RUNNING, note="no")
    assert store.link_job(job.id).note == "waiting"


def test_settled_states_have_no_way_out() -> None:
    for final in (JobState.REPORTED, JobState.REFUSED, CaseState.LINKED, CaseState.SKIPPED, TokenState.REMOVED):
        table = {JobState: JOB_MOVES, CaseState: CASE_MOVES, TokenState: TOKEN_MOVES}[type(final)]
        assert not table[final]
