"""`nzbot probe --sandbox` against the simulator, each fact answered both ways
(alma.simulator.state.AlmaAnswers): what it concludes, what it stores, what nzbot then
does with it, and that it leaves the simulator's records and sets as it found them."""

from __future__ import annotations

import json
import pytest

from alma.models import Counter
from alma.simulator import seed
from bot.cli import main
from nzbot.facts import (CONTRIBUTE, COUNTER_KEYS, MULTI_MATCHES_LIST, NO_005_CHECK, OTHER_SYSTEM, AlmaFacts,
                         counter_kinds, fact_lines, route_warnings)
from nzbot.report import job_report
from nzbot.store import LinkJob, Store
from tests.conftest import API_KEY

IZ, CONTRIBUTE_IZ = seed.CASES["no_match"], seed.CASES["no_match_2"]
NZ_A, NZ_B = seed.NZ_RECORDS["unique"], seed.NZ_RECORDS["unique_2"]
ARGS = ["probe", "--sandbox", "--iz", IZ, "--nz", NZ_A, "--nz", NZ_B, "--contribute-iz", CONTRIBUTE_IZ,
        "--poll", "0.1", "--json"]


@pytest.fixture
def probe_env(sim, monkeypatch, tmp_path):
    monkeypatch.setenv("ALMA_API_KEY", API_KEY)
    monkeypatch.setenv("ALMA_API_URL", sim.base_url)
    monkeypatch.setenv("ALMA_NZ_SRU_URL", sim.sru_url)
    monkeypatch.setenv("ALMA_NZ_API_KEY", "sim-nz-key")
    monkeypatch.setenv("NZBOT_DB", str(tmp_path / "nzbot.db"))
    sim.job_seconds = 0.2
    return sim


def catalogue(sim) -> dict:
    """Every record (MARC without its 005, which each save moves on), link and set."""
    def marc(m):
        return [str(f) for f in m.record().get_fields() if f.tag != "005"]

    with sim.state.lock:
        return {"iz": {i: (marc(b.marc), b.linked_nz_id) for i, b in sim.state.iz.items()},
                "nz": {i: marc(b.marc) for i, b in sim.state.nz.items()},
                "sets": {i: (s.name, list(s.members)) for i, s in sim.state.sets.items()}}


def probe(sim, capsys) -> dict[str, dict]:
    before = catalogue(sim)
    assert main(ARGS) == 0
    out = capsys.readouterr()
    assert catalogue(sim) == before  # nothing left behind
    assert "nzbot probe will now:" in out.err  # each plan said (before the change: see test below)
    return {f["fact"]: f for f in json.loads(out.out)["facts"]}


def stored(path) -> AlmaFacts:
    store = Store(str(path))
    try:
        return AlmaFacts.of(store)
    finally:
        store.close()


def test_it_refuses_to_run_without_sandbox(probe_env, capsys):
    calls = probe_env.total_calls
    assert main(ARGS[:1] + ARGS[2:]) == 2
    err = capsys.readouterr().err
    assert "--sandbox" in err and "cannot tell" in err and len(err.strip().splitlines()) == 1
    assert probe_env.total_calls == calls  # not one call to Alma


def test_todays_simulator_answers_and_what_nzbot_then_does(probe_env, capsys, tmp_path):
    found = probe(probe_env, capsys)
    assert found[CONTRIBUTE]["value"] == "imports"
    assert found[COUNTER_KEYS]["value"] == {"link_bib_to_nz.imported": "imported",
                                            "link_bib_to_nz.multi_match": "multi_matched"}
    assert found[MULTI_MATCHES_LIST]["value"] is False
    assert found[OTHER_SYSTEM]["value"] == {"matches_035": True, "matches_024": False}
    assert found[NO_005_CHECK]["value"] == "refuses"
    facts = stored(tmp_path / "nzbot.db")
    assert set(facts.learned) == {CONTRIBUTE, COUNTER_KEYS, MULTI_MATCHES_LIST, OTHER_SYSTEM, NO_005_CHECK}
    assert route_warnings(facts) == [line for line in route_warnings(facts) if "005" in line] != []
    assert all(line.startswith("confirmed ") for line in fact_lines(facts))


def test_the_other_answers_and_what_nzbot_then_does(probe_env, capsys, tmp_path):
    answers = probe_env.state.answers
    answers.counter_key_prefix = "LINK_TO_NZ"
    answers.multi_matches_listed = True
    answers.no_005_passes_version_check = True
    answers.other_system_matches_024 = True
    answers.contribute_skips_without_prefix = True
    found = probe(probe_env, capsys)
    assert found[CONTRIBUTE]["value"] == "skips"
    assert found[COUNTER_KEYS]["value"] == {"LINK_TO_NZ.skipped": "skipped", "LINK_TO_NZ.multi_match": "multi_matched"}
    assert found[MULTI_MATCHES_LIST]["value"] is True
    assert IZ in found[MULTI_MATCHES_LIST]["answered"] and NZ_A in found[MULTI_MATCHES_LIST]["answered"]
    assert found[OTHER_SYSTEM]["value"] == {"matches_035": True, "matches_024": True}
    assert found[NO_005_CHECK]["value"] == "saves"
    facts = stored(tmp_path / "nzbot.db")
    warnings = route_warnings(facts)
    assert any("024" in w for w in warnings) and any("contribute" in w for w in warnings)
    assert not any("005" in w for w in warnings)
    # the report reads the learned keys: a run counted under Alma's real keys
    job = LinkJob.from_row({"id": 1, "set_id": "1", "set_name": "s", "requested_by": "U", "channel": "C",
                            "state": "finished", "contribute": 0, "counters": "[]"})
    job = job.__class__(**{**job.__dict__, "counters": (Counter("LINK_TO_NZ.multi_match", "Multi", 3),)})
    assert job_report(job).counts == {}  # the defaults alone do not know the key
    assert job_report(job, counter_kinds(facts)).counts["multi_matched"] == 3


def test_a_profile_that_does_not_match_the_035_says_the_token_route_cannot_work(probe_env, capsys, tmp_path):
    probe_env.state.answers.other_system_matches_035 = False
    found = probe(probe_env, capsys)
    assert found[OTHER_SYSTEM]["value"]["matches_035"] is False
    assert found[COUNTER_KEYS]["value"]["link_bib_to_nz.skipped"] == "skipped"
    assert any("cannot link" in w for w in route_warnings(stored(tmp_path / "nzbot.db")))


def test_text_output_says_what_it_did_what_alma_answered_and_what_nzbot_does(probe_env, capsys):
    assert main([a for a in ARGS if a != "--json"]) == 0
    out = capsys.readouterr().out
    for words in ("will now:", "did:", "Alma answered:", "so:", "nzbot now:"):
        assert words in out
    # each plan is printed before its result
    assert out.index("will now: run the link job on IZ record") < out.index("contribute_without_prefix: did:")


def test_the_doctor_shows_confirmed_and_assumed_facts(tmp_path):
    from nzbot.doctor import fact_checks

    store = Store(str(tmp_path / "db"))
    assert all("assumed" in c.detail for c in fact_checks(AlmaFacts.of(store)))
    store.learn_fact(MULTI_MATCHES_LIST, True)
    lines = [c.detail for c in fact_checks(AlmaFacts.of(store))]
    store.close()
    assert sum(line.startswith("confirmed ") for line in lines) == 1
    assert any("MULTI_MATCHES" in line and line.startswith("confirmed ") for line in lines)


def test_one_warning_line_per_route_a_learned_fact_stops(tmp_path):
    store = Store(str(tmp_path / "db"))
    store.learn_fact(CONTRIBUTE, "skips")
    facts = AlmaFacts.of(store)
    store.close()
    assert len(route_warnings(facts)) == 1 and "contribute" in route_warnings(facts)[0]
