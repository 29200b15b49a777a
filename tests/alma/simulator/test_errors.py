"""The simulator refuses with the errorCodes Alma's OpenAPI spec lists for each operation
(bibs.json, conf.json: each operation's 400 answer), and a key lacking a permission gets
400 + an XML UNAUTHORIZED, as real Alma sends it. The contract tests (tests/alma/contract/)
give the real client the same shapes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from alma.simulator import seed

WSR = "{http://com/exlibris/urm/general/xmlbeans}"


def _code(r) -> str:
    return r.json()["errorList"]["error"][0]["errorCode"]


def test_a_key_lacking_a_permission_gets_400_and_an_xml_unauthorized_even_asking_json(sim, api):
    sim.key_permissions["Configuration"] = None
    r = api.get(f"/conf/sets/{seed.SETS['link_test']}")
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{WSR}web_service_result"
    assert root.findtext(f"{WSR}errorList/{WSR}error/{WSR}errorCode") == "UNAUTHORIZED"
    assert api.get(f"/bibs/{seed.CASES['unique']}").status_code == 200  # Bibs is still granted


def test_a_read_only_permission_reads_but_does_not_change(sim, api):
    sim.key_permissions["Configuration"] = "read"
    assert api.get(f"/conf/sets/{seed.SETS['link_test']}").status_code == 200
    refused = api.run_link_job(seed.SETS["link_test"])
    assert refused.status_code == 400 and b"<errorCode>UNAUTHORIZED</errorCode>" in refused.content
    assert not sim.state.runs


def test_unknown_ids_get_each_operations_own_code(api):
    assert _code(api.get("/bibs/9912345678906391")) == "402203"
    assert _code(api.get("/conf/sets/12345")) == "60107"
    assert _code(api.get("/conf/sets/12345/members")) == "60107"
    assert _code(api.post("/conf/sets/12345", {"members": {"member": []}}, op="add_members")) == "60107"
    assert _code(api.get("/conf/jobs/M99999")) == "402216"
    assert _code(api.get("/conf/jobs/M85/instances/12345")) == "402218"


def test_job_operations_and_dates_get_the_specs_codes(api):
    body = {"parameter": [{"name": {"value": "set_id"}, "value": seed.SETS["link_test"]}]}
    assert _code(api.post("/conf/jobs/M85", body)) == "402220"  # no op
    assert _code(api.post("/conf/jobs/M85", body, op="walk")) == "402221"
    assert _code(api.get("/conf/jobs/M85/instances", submit_date_from="yesterday")) == "402217"


def test_a_taken_set_name_is_refused_with_402263(sim, api):
    body = {"name": "Link job test set", "type": {"value": "ITEMIZED"}, "content": {"value": "BIB_MMS"}}
    before = len(sim.state.sets)
    r = api.post("/conf/sets", body)
    assert r.status_code == 400 and _code(r) == "402263"
    assert "already exists" in r.json()["errorList"]["error"][0]["errorMessage"]
    assert len(sim.state.sets) == before


def test_duplicate_and_existing_members_are_refused(sim, api):
    set_id = seed.SETS["link_test"]
    member = next(iter(sim.state.sets[set_id].members))
    new = next(i for i in sim.state.iz if i not in sim.state.sets[set_id].members)
    twice = {"members": {"member": [{"id": new}, {"id": new}]}}
    assert _code(api.post(f"/conf/sets/{set_id}", twice, op="add_members")) == "60119"
    again = {"members": {"member": [{"id": member}]}}
    assert _code(api.post(f"/conf/sets/{set_id}", again, op="add_members")) == "60115"
    unknown = {"members": {"member": [{"id": "9900000000000000"}]}}
    r = api.post(f"/conf/sets/{set_id}", unknown, op="add_members", fail_on_invalid_id="true")
    assert _code(r) == "60116"
    assert _code(api.post(f"/conf/sets/{set_id}", again, op="walk")) == "60111"


def test_a_run_answer_names_its_instance_in_link_and_value(api):
    # After exl_job_run_request_response.md: additional_info {value: "Job no. N triggered on
    # <date>", link: ".../instances/N"}, link last.
    r = api.run_link_job(seed.SETS["link_test"])
    info = r.json()["additional_info"]
    number = info["link"].rsplit("/", 1)[-1]
    assert info["value"].startswith(f"Job no. {number} triggered on ")
    assert list(r.json())[-1] == "link"


def test_a_run_answer_can_lack_the_link_or_additional_info(sim, api):
    sim.faults.run_answer = "value"
    info = api.run_link_job(seed.SETS["link_test"]).json()["additional_info"]
    assert set(info) == {"value"} and info["value"].startswith("Job no. ")
    sim.faults.run_answer = "none"
    assert "additional_info" not in api.run_link_job(seed.SETS["unlinked"]).json()
