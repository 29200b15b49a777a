"""The simulator answers in the shapes the contract tests (tests/alma/contract/) hold the
client to, so that the simulator and real Alma cannot drift apart again (issue 9)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import requests

from alma.client import SRU_NAMESPACES, bib_from_json, sru_page_from_xml
from alma.simulator import seed
from tests.alma.simulator.conftest import Api
from tests.alma.unreadable import add_unreadable_bib

DECLARATION = '<?xml version="1.0" encoding="UTF-16"?>'


def test_every_bib_anies_opens_with_the_utf16_declaration(api):
    one = api.get(f"/bibs/{seed.CASES['unique']}").json()
    many = api.get("/bibs", mms_id=f"{seed.CASES['unique']},{seed.CASES['already_linked']}").json()
    for bib in [one, *many["bib"]]:
        assert bib["anies"][0].startswith(DECLARATION + "<record>")
        assert bib_from_json(bib).record is not None  # and the client reads it


def test_a_bib_as_xml_carries_no_declaration_inside(sim):
    r = Api(sim, accept="application/xml").get(f"/bibs/{seed.CASES['unique']}")
    assert "UTF-16" not in r.text
    assert ET.fromstring(r.content).find("record/leader") is not None


@pytest.mark.parametrize("path, params", [
    ("/conf/sets", {"q": "name~no such set anywhere"}),
    ("/conf/jobs", {"type": "SMS"}),  # a type Alma knows; the sample has none
    ("/conf/jobs/{job}/instances", {"submit_date_from": "2999-01-01"}),
    ("/conf/sets/{empty}/members", {}),
    ("/bibs", {"nz_mms_id": "{nz}"}),
])
def test_an_empty_list_is_a_zero_total_and_no_list_key(sim, api, path, params):
    empty = sim.state.make_set("Nothing in it", []).id
    fill = {"job": sim.state.link_job_id, "empty": empty, "nz": seed.NZ_RECORDS["unique"]}
    answer = api.get(path.format(**fill), **{k: v.format(**fill) for k, v in params.items()})
    assert answer.status_code == 200 and answer.json() == {"total_record_count": 0}


def test_an_empty_list_as_xml(sim):
    r = Api(sim, accept="application/xml").get("/conf/sets", q="name~no such set anywhere")
    root = ET.fromstring(r.content)
    assert root.tag == "sets" and root.get("total_record_count") == "0" and len(root) == 0


def test_a_broken_record_is_served_as_the_catalogue_holds_it(sim, api):
    broken = add_unreadable_bib(sim.state, "Rivers of Oregon", "41234567")
    doc = api.get("/bibs", mms_id=f"{seed.CASES['unique']},{broken}").json()
    by_id = {b["mms_id"]: bib_from_json(b) for b in doc["bib"]}
    assert by_id[broken].unreadable and by_id[broken].title == "Rivers of Oregon"
    assert by_id[seed.CASES["unique"]].record is not None


def test_sru_answers_are_sru_12_that_the_client_reads(sim):
    params = {"version": "1.2", "operation": "searchRetrieve", "recordSchema": "marcxml",
              "query": "alma.oclc_control_number_035_az=(OCoLC)41234567"}
    r = requests.get(sim.sru_url, params=params, timeout=10)
    root = ET.fromstring(r.content)
    assert root.tag.startswith(SRU_NAMESPACES[0]) and root.tag.endswith("searchRetrieveResponse")
    page = sru_page_from_xml(r.content, sim.sru_url)
    assert page.number_of_records == 1 and page.records[0]["001"].data == seed.NZ_RECORDS["unique"]


def _shape(value):
    """A JSON value's shape: its keys (recursively) and each leaf's JSON type."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _missing(contract, simulated, where="") -> list[str]:
    """Where the simulator's answer lacks a field the contract fixture has, or gives it
    another JSON type (extra fields in the simulator's answer are fine)."""
    if isinstance(contract, dict):
        if not isinstance(simulated, dict):
            return [f"{where or 'answer'}: not an object"]
        return [m for k, v in contract.items()
                for m in (_missing(v, simulated[k], f"{where}.{k}") if k in simulated else [f"{where}.{k}"])]
    if isinstance(contract, list):
        if not isinstance(simulated, list):
            return [f"{where}: not a list"]
        return _missing(contract[0], simulated[0], f"{where}[0]") if contract and simulated else []
    return [] if contract == simulated else [f"{where}: {simulated} where Alma sends {contract}"]


def test_the_simulators_answers_carry_every_field_of_the_contract_fixtures(sim, api):
    """Field by field: the bib, the set members page, a run's answer and a finished run's
    instance, each against the contract fixture shaped after the public payload."""
    from tests.alma.contract.test_counters import instance
    from tests.alma.contract.test_job_runs import run_answer
    from tests.alma.contract.test_lists import members_page
    from tests.alma.contract.test_marc_declaration import uo_bib

    bib = api.get(f"/bibs/{seed.CASES['unique']}").json()
    linked = api.get(f"/bibs/{seed.CASES['already_linked']}").json()
    members = api.get(f"/conf/sets/{seed.SETS['link_test']}/members", limit=5).json()
    run = api.run_link_job(seed.SETS["link_test"]).json()
    done = api.wait_for(run["additional_info"]["link"])[-1]
    contract_bib = uo_bib()
    del contract_bib["issn"]  # the uo record is a serial with a 022; nzbot reads only the MARC's
    checks = {
        "bib": (contract_bib, bib),
        "linked bib": ({**contract_bib, "linked_record_id": {"value": "99123", "type": "NZ"}}, linked),
        "set members": (json.loads(members_page(0, 2)), members),
        "run answer": (run_answer({"value": "Job no. 1 triggered", "link": "x"}), run),
        "instance": (instance([("k", "desc", "1")]), done),
    }
    problems = {name: _missing(_shape(c), _shape(s)) for name, (c, s) in checks.items()}
    assert {name: p for name, p in problems.items() if p} == {}
    assert list(run)[-1] == "link"  # Alma's order: link last
