"""The simulator answers in the shapes the contract tests (tests/alma/contract/) hold the
client to, so that the simulator and real Alma cannot drift apart again (issue 9)."""

from __future__ import annotations

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
