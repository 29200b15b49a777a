"""Lookups and set previews against the simulator, and the verdicts checked against what
the simulator's own link job (an independent matcher) does to the same records."""

from __future__ import annotations

import json
import time

import pytest

from alma.errors import BadInput, RecordNotFound
from alma.matching import Verdict
from alma.models import LinkJobParameters
from alma.preview import PreviewCounts, look_up, open_set, preview_set
from alma.simulator import Simulator, seed
from bot.cli import main
from tests.conftest import API_KEY, client_for

EXPECTED = {
    "unique": Verdict.UNIQUE, "unique_2": Verdict.UNIQUE, "unique_3": Verdict.UNIQUE,
    "unique_suppressed": Verdict.UNIQUE, "serial_unique": Verdict.UNIQUE,
    "cancelled_in_nz": Verdict.UNIQUE, "ocm_form": Verdict.UNIQUE, "ocn_form": Verdict.UNIQUE,
    "on_form": Verdict.UNIQUE, "same_ocn_twice": Verdict.UNIQUE, "nz_several_ocns": Verdict.UNIQUE,
    "multi": Verdict.MULTI, "multi_three": Verdict.MULTI, "multi_via_z": Verdict.MULTI,
    "multi_language": Verdict.MULTI, "serial_multi": Verdict.MULTI,
    "no_match": Verdict.NONE, "no_match_2": Verdict.NONE, "cancelled_in_iz": Verdict.NONE,
    "no_oclc": Verdict.NO_OCLC, "no_oclc_local": Verdict.NO_OCLC,
    "not_ocn_tgpsm": Verdict.NO_OCLC, "not_ocn_ocm_letters": Verdict.NO_OCLC,
    "not_ocn_ocolc_m": Verdict.NO_OCLC, "not_ocn_ocolc_i": Verdict.NO_OCLC,
    "not_ocn_bare": Verdict.NO_OCLC, "other_system": Verdict.NO_OCLC,
    "other_system_none": Verdict.NO_OCLC,
    "already_linked": Verdict.LINKED,
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_seeded_case_gets_its_verdict(client, case):
    match = look_up(client, seed.CASES[case])
    assert match.verdict is EXPECTED[case], case
    if match.verdict is Verdict.UNIQUE:
        assert len(match.candidates) == 1
    if match.verdict is Verdict.MULTI:
        assert len(match.candidates) >= 2


def test_a_multi_match_shows_every_duplicate_with_its_card(client):
    match = look_up(client, seed.CASES["multi_three"])
    assert {c.mms_id for c in match.candidates} == {
        seed.NZ_RECORDS[f"multi_three_{s}"] for s in "abc"
    }
    assert all(c.title.startswith("Native plants of Washington") for c in match.candidates)
    assert all(c.holding_count >= 1 for c in match.candidates)


def test_a_serial_multi_match_is_found(client):
    match = look_up(client, seed.CASES["serial_multi"])
    assert match.verdict is Verdict.MULTI and all(c.is_serial for c in match.candidates)


def test_an_already_linked_record_names_its_nz_record(client):
    match = look_up(client, seed.CASES["already_linked"])
    assert match.linked_nz_mms_id == seed.NZ_RECORDS["already_linked"]


def test_an_oclc_number_finds_the_nz_records_carrying_it(client):
    match = look_up(client, "61111111")
    assert match.iz is None and match.verdict is Verdict.MULTI
    assert look_up(client, "(OCoLC)ocm41234567").verdict is Verdict.UNIQUE


@pytest.mark.parametrize("bad", ["", "banana", "(OCoLC)TGPSM11-B2267", "ocmDCLC6114599B", "0"])
def test_bad_lookups_are_refused_before_any_request(sim, client, bad):
    with pytest.raises(BadInput):
        look_up(client, bad)
    assert sim.total_calls == 0


def test_a_record_that_does_not_exist(client):
    with pytest.raises(RecordNotFound, match="no bib record"):
        look_up(client, "9912345678906391")


def test_preview_agrees_with_what_the_link_job_then_does(sim, client):
    heading = open_set(client, seed.SETS["unlinked"])
    predicted = {mms_id: m.verdict for mms_id, m in preview_set(client, heading)}
    assert len(predicted) == heading.total
    run = client.run_link_job(LinkJobParameters(set_id=heading.set.id))
    deadline = time.monotonic() + 20
    while not (instance := client.get_job_instance(run.job_id, run.instance_id)).finished:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    counters = {c.key: c.value for c in instance.counters}
    after = {b.mms_id: b for b in client.get_bibs(list(predicted))}
    for mms_id, verdict in predicted.items():
        linked = after[mms_id].linked_nz_mms_id
        if verdict is Verdict.UNIQUE:
            assert linked, f"{mms_id} was predicted to link"
        else:
            assert not linked, f"{mms_id} ({verdict}) was predicted not to link"
    verdicts = list(predicted.values())
    assert counters["link_bib_to_nz.linked"] == verdicts.count(Verdict.UNIQUE)
    assert counters["link_bib_to_nz.multi_match"] == verdicts.count(Verdict.MULTI)
    assert counters["link_bib_to_nz.skipped"] == verdicts.count(Verdict.NONE) + verdicts.count(Verdict.NO_OCLC)


def test_preview_of_1000_records_costs_at_most_60_calls():
    with Simulator(state=seed.generate_state(1000, seed=5), api_key=API_KEY) as sim:
        client = client_for(sim)
        heading = open_set(client, seed.GENERATED_SET_NAME)
        sim.reset_calls()
        counts = PreviewCounts()
        for mms_id, match in preview_set(client, heading):
            counts.add(mms_id, match)
        assert sum(counts.counts.values()) == 1000
        assert counts.counts["multi"] == 80 and counts.counts["unique"] == 700
        assert sim.total_calls <= 60, dict(sim.calls)


def test_the_next_chunk_is_read_while_this_one_is_matched_and_no_further():
    """The next 1,000 records' member pages and bibs are asked for while the caller still
    holds the first chunk's matches (no gap between chunks), and never a chunk beyond that
    (memory stays flat); the calls per 1,000 do not change."""
    members, bibs = "GET /almaws/v1/conf/sets/{set_id}/members", "GET /almaws/v1/bibs"
    with Simulator(state=seed.generate_state(3000, seed=5), api_key=API_KEY) as sim:
        client = client_for(sim)
        heading = open_set(client, seed.GENERATED_SET_NAME)
        sim.reset_calls()
        records = preview_set(client, heading)
        next(records)  # the first record of the first chunk, the rest of it not yet taken
        deadline = time.monotonic() + 20
        while sim.calls[bibs] < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (sim.calls[members], sim.calls[bibs]) == (20, 20), dict(sim.calls)
        time.sleep(0.3)
        assert (sim.calls[members], sim.calls[bibs]) == (20, 20), dict(sim.calls)  # not a third chunk
        assert sum(1 for _ in records) == 2999
        assert sim.total_calls <= 3 * 45, dict(sim.calls)


def test_preview_reports_progress(client):
    seen = []
    heading = open_set(client, seed.SETS["link_test"])
    list(preview_set(client, heading, lambda done, total: seen.append((done, total))))
    assert seen[-1] == (9, 9)


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def alma_env(sim, monkeypatch):
    monkeypatch.setenv("ALMA_API_KEY", API_KEY)
    monkeypatch.setenv("ALMA_API_URL", sim.base_url)
    monkeypatch.setenv("ALMA_NZ_SRU_URL", sim.sru_url)
    return sim


def test_cli_match_json_recommends_nothing_for_true_duplicates_or_with_the_rules_off(alma_env, capsys, monkeypatch):
    assert main(["match", seed.CASES["multi_three"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recommendation"] is None  # three records alike
    assert main(["match", seed.CASES["multi_ebook"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recommendation"]["nz_mms_id"] == seed.NZ_RECORDS["multi_ebook_print"]
    monkeypatch.setenv("NZBOT_SUGGESTION_RULES", "off")
    assert main(["match", seed.CASES["multi_ebook"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recommendation"] is None


def test_cli_match_json(alma_env, capsys):
    assert main(["match", seed.CASES["multi"], "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"iz", "verdict", "candidates", "recommendation"}
    assert printed["recommendation"] == {  # the full record, not the minimal one
        "nz_mms_id": seed.NZ_RECORDS["multi_a"], "rule": "encoding_level",
        "reasons": ["Candidate 2's encoding level is Minimal (Leader/17), candidate 1's Full"]}
    assert printed["verdict"] == "multi"
    assert printed["iz"]["mms_id"] == seed.CASES["multi"]
    assert printed["iz"]["oclc_numbers"] == ["61111111"]
    assert printed["iz"]["linked_nz_mms_id"] is None
    assert {c["mms_id"] for c in printed["candidates"]} == {
        seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]}
    assert all("61111111" in c["oclc_numbers"] and c["title"] for c in printed["candidates"])


def test_cli_match_by_oclc_number_json(alma_env, capsys):
    assert main(["match", "41234567", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["iz"] is None and printed["verdict"] == "unique"


def test_cli_match_readable(alma_env, capsys):
    assert main(["match", seed.CASES["unique"]]) == 0
    out = capsys.readouterr().out
    assert "Verdict: Will link. " in out and seed.NZ_RECORDS["unique"] in out


def test_cli_match_says_what_slack_says(alma_env, capsys):
    """Issue 23: the command line said "Verdict: multi (... (multi-match))" and "encoding
    level ' '" where Slack says "Multi-match" and "Full (blank)"."""
    assert main(["match", seed.CASES["multi"]]) == 0
    out = capsys.readouterr().out
    (verdict,) = [line for line in out.splitlines() if line.startswith("Verdict: ")]
    assert verdict.startswith("Verdict: Multi-match. Several NZ records carry this OCLC number")
    assert "))" not in verdict
    assert "encoding level: Full (blank)" in out and "encoding level: Minimal (7)" in out
    assert "' '" not in out and "member(s)" not in out


def test_cli_preview_has_a_header_and_slacks_labels(alma_env, capsys):
    """Issue 23: raw verdicts with no header, and "linked: 0" that meant already linked."""
    assert main(["preview", seed.SETS["link_test"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Link job preview of set Link job test set ({seed.SETS['link_test']}), 9 members"
    assert lines[1] == "MMS ID\tVerdict\tNZ records"
    verdicts = {line.split("\t")[0]: line.split("\t")[1] for line in lines[2:11]}
    assert verdicts[seed.CASES["unique"]] == "Will link" and verdicts[seed.CASES["multi"]] == "Multi-match"
    assert verdicts[seed.CASES["already_linked"]] == "Already linked"
    assert verdicts[seed.CASES["no_match"]] == "No NZ match"
    assert "  Already linked: 1 (nothing to do)" in lines and "  Will link: 5 (one NZ match)" in lines
    assert not [line for line in lines if line.startswith(("linked:", "unique", "multi"))]


def test_cli_match_unknown_record_fails_clearly(alma_env, capsys):
    assert main(["match", "9912345678906391"]) != 0
    captured = capsys.readouterr()
    assert "no bib record" in captured.err and captured.out == ""


def test_cli_match_bad_input(alma_env, capsys):
    assert main(["match", "banana"]) == 2
    assert "neither an MMS ID" in capsys.readouterr().err
    assert alma_env.total_calls == 0


def test_cli_preview_json(alma_env, capsys):
    assert main(["preview", seed.SETS["link_test"], "--json"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed["set_id"] == seed.SETS["link_test"]
    assert printed["set_name"] == "Link job test set" and printed["total"] == 9
    assert sum(printed["counts"].values()) == 9 and set(printed["counts"]) == {
        "linked", "unique", "multi", "none", "no_oclc", "unreadable"}
    by_id = {r["mms_id"]: r for r in printed["records"]}
    assert by_id[seed.CASES["multi"]]["verdict"] == "multi"
    assert len(by_id[seed.CASES["multi"]]["candidates"]) == 2
    assert by_id[seed.CASES["unique"]]["candidates"] == [seed.NZ_RECORDS["unique"]]
    # Exactly the calls Alma received, by endpoint (the CLI counts its piece of work).
    assert printed["api_calls"]["total"] == alma_env.total_calls == 4
    assert printed["api_calls"]["GET SRU"] == alma_env.calls["GET /view/sru"] == 1
    assert printed["api_calls"]["GET /bibs"] == alma_env.calls["GET /almaws/v1/bibs"] == 1
    assert "9 of 9" in captured.err


def test_cli_preview_counts_the_multi_matches_from_an_oclc_merge(alma_env, capsys):
    assert main(["preview", seed.SETS["unlinked"], "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["counts"]["multi"] == 6 and printed["multi_from_oclc_merge"] == 1  # "Rivers and streams of Idaho"
    assert main(["preview", seed.SETS["link_test"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["multi_from_oclc_merge"] == 0


def test_cli_preview_refuses_an_item_set(alma_env, capsys):
    assert main(["preview", seed.SETS["items"]]) == 2
    assert "not bib records" in capsys.readouterr().err


def test_cli_preview_of_an_item_set_by_name_says_what_it_holds(alma_env, capsys):
    """The set exists: "There is no set named ..." would send the cataloger looking for it."""
    assert main(["preview", "Sample items (not bibs)"]) == 2
    err = capsys.readouterr().err
    assert "not bib records" in err and seed.SETS["items"] in err and "no set named" not in err
    assert err.count("\n") == 1


def test_cli_preview_of_a_name_in_other_letter_case_names_the_set(alma_env, capsys):
    assert main(["preview", "empty set"]) == 1
    err = capsys.readouterr().err
    assert err == (f"nzbot: There is no set named 'empty set'; did you mean 'Empty set' "
                   f"({seed.SETS['empty']})?\n")
    assert alma_env.state.sets[seed.SETS["empty"]].name == "Empty set"


def test_cli_needs_its_settings(monkeypatch, capsys):
    monkeypatch.delenv("ALMA_API_KEY", raising=False)
    assert main(["match", "991234567"]) == 2
    assert "ALMA_API_KEY" in capsys.readouterr().err
