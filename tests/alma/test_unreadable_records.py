"""Unreadable catalogue records, end to end through the CLI against the simulator:
`nzbot preview` reports them by MMS ID and previews the rest; `nzbot match` says plainly
that the record can't be read."""

from __future__ import annotations

import json

import pytest

from alma.simulator import seed
from bot.cli import main
from tests.alma.unreadable import add_unreadable_bib


@pytest.fixture
def alma_env(sim, monkeypatch):
    monkeypatch.setenv("ALMA_API_KEY", sim.api_key)
    monkeypatch.setenv("ALMA_API_URL", sim.base_url)
    monkeypatch.setenv("ALMA_NZ_SRU_URL", sim.sru_url)
    return sim


@pytest.fixture
def broken_set(sim):
    """The unique, multi and no-match cases, one record with a control character and one
    cut short, in one set."""
    control = add_unreadable_bib(sim.state, "Rivers of Oregon", "41234567")
    cut = add_unreadable_bib(sim.state, "Lakes of Oregon", "41234567", how="cut")
    members = [seed.CASES["unique"], control, seed.CASES["multi"], cut, seed.CASES["no_match"]]
    return sim.state.make_set("Set with broken records", members).id, control, cut


def test_preview_json_reports_unreadable_records_and_previews_the_rest(alma_env, broken_set, capsys):
    set_id, control, cut = broken_set
    assert main(["preview", set_id, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    verdicts = {r["mms_id"]: r["verdict"] for r in printed["records"]}
    assert verdicts == {seed.CASES["unique"]: "unique", control: "unreadable",
                        seed.CASES["multi"]: "multi", cut: "unreadable",
                        seed.CASES["no_match"]: "none"}
    assert printed["counts"]["unreadable"] == 2 and sum(printed["counts"].values()) == 5


def test_match_of_an_unreadable_record_says_it_cannot_be_read(alma_env, broken_set, capsys):
    _, control, _ = broken_set
    assert main(["match", control]) == 0
    out = capsys.readouterr().out
    assert f"IZ record {control}: Rivers of Oregon" in out
    assert "Verdict: Can't be read. The IZ record can't be read: Alma sent MARC that is broken" in out


def test_match_json_of_an_unreadable_record(alma_env, broken_set, capsys):
    _, _, cut = broken_set
    assert main(["match", cut, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["verdict"] == "unreadable" and printed["candidates"] == []
    assert printed["iz"]["mms_id"] == cut


def test_match_and_preview_read_records_declared_utf16(alma_env, capsys):
    """Every bib the simulator sends opens with real Alma's UTF-16 declaration."""
    import requests

    raw = requests.get(f"{alma_env.base_url}/almaws/v1/bibs/{seed.CASES['unique']}",
                       headers={"Authorization": f"apikey {alma_env.api_key}", "Accept": "application/json"},
                       timeout=5).json()
    assert raw["anies"][0].startswith('<?xml version="1.0" encoding="UTF-16"?>')
    assert main(["match", seed.CASES["unique"]]) == 0
    assert "Verdict: Will link. " in capsys.readouterr().out
    assert main(["preview", seed.SETS["link_test"], "--json"]) == 0
    assert sum(json.loads(capsys.readouterr().out)["counts"].values()) == 9


SIGN_IN = "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form></form></body></html>"


def test_an_sru_url_answering_a_sign_in_page_gets_one_clear_line(alma_env, monkeypatch, capsys):
    """Not "no NZ match" (which invites a duplicate): one line naming SRU and the URL."""
    from tests.alma.contract.conftest import AlmaStub, Answer

    with AlmaStub() as portal:
        url = portal.base_url + "/view/sru/01SIM_NETWORK"
        portal.answer("GET", "/view/sru/01SIM_NETWORK", Answer(200, SIGN_IN, "text/html"))
        monkeypatch.setenv("ALMA_NZ_SRU_URL", url)
        assert main(["match", seed.CASES["unique"]]) == 1
        assert main(["preview", seed.SETS["link_test"], "--json"]) == 1
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("nzbot: ")]
    assert len(lines) == 2 and lines[0] == lines[1]
    assert "SRU" in lines[0] and url in lines[0] and "'Sign in'" in lines[0]
    assert "Verdict" not in captured.out and '"none"' not in captured.out


def _cli(sim, *args: str):
    """The real `nzbot` command line, in its own process, against the simulator."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ALMA_API_KEY": sim.api_key, "ALMA_API_URL": sim.base_url,
           "ALMA_NZ_SRU_URL": sim.sru_url, "ALMA_MAX_RETRIES": "0"}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_preview_json_that_fails_partway_prints_no_json(sim, broken_set):
    """A script reading `nzbot preview --json` gets valid JSON or nothing: here the set is
    read, then Alma refuses the bib records (the key lost Bibs), so stdout stays empty and
    the one line saying why goes to stderr, with a non-zero exit."""
    set_id, _, _ = broken_set
    sim.key_permissions["Bibs"] = None
    done = _cli(sim, "preview", set_id, "--json")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "The API key is not allowed to read bib records" in done.stderr
    assert "Traceback" not in done.stderr


def test_preview_json_on_success_is_one_json_object(sim, broken_set):
    set_id, control, _ = broken_set
    done = _cli(sim, "preview", set_id, "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["set_id"] == set_id and printed["counts"]["unreadable"] == 2
    assert {"mms_id": control, "verdict": "unreadable", "candidates": []} in printed["records"]
