"""Sets: search, shapes, member paging, creation and member limits."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from alma.simulator import seed

from .conftest import Api


def test_find_set_by_name_case_insensitive(api):
    doc = api.get("/conf/sets", q="name~unlinked SAMPLE", content_type="BIB_MMS").json()
    assert doc["total_record_count"] == 1
    s = doc["set"][0]
    assert s["id"] == seed.SETS["unlinked"]
    assert s["type"] == {"value": "ITEMIZED", "desc": "Itemized"}
    assert s["content"]["value"] == "BIB_MMS"
    assert api.get("/conf/sets", q="name~no such set").json()["total_record_count"] == 0


def test_get_set_shape_and_item_set(api):
    s = api.get(f"/conf/sets/{seed.SETS['link_test']}").json()
    assert s["number_of_members"]["value"] == 9
    assert s["number_of_members"]["link"].endswith(f"/conf/sets/{s['id']}/members")
    assert s["status"]["value"] == "ACTIVE" and s["link"].endswith(s["id"])
    assert {"id", "name", "description", "type", "content"} <= set(s)
    items = api.get(f"/conf/sets/{seed.SETS['items']}").json()
    assert items["content"]["value"] == "ITEM"  # so a client can refuse non-bib sets
    logical = api.get(f"/conf/sets/{seed.SETS['logical']}").json()
    assert logical["type"]["value"] == "LOGICAL" and logical["query"]["value"]


def test_unknown_set_is_alma_error(api):
    r = api.get("/conf/sets/12345")
    assert r.status_code == 400 and r.json()["errorList"]["error"][0]["errorCode"]


def test_set_xml_form(sim):
    r = Api(sim, accept="application/xml").get(f"/conf/sets/{seed.SETS['link_test']}")
    root = ET.fromstring(r.content)
    assert root.tag == "set" and root.findtext("number_of_members") == "9"
    assert root.find("type").get("desc") == "Itemized"


def test_member_paging(api):
    set_id = seed.SETS["unlinked"]
    total = api.get(f"/conf/sets/{set_id}").json()["number_of_members"]["value"]
    seen = []
    for offset in range(0, total, 10):
        page = api.get(f"/conf/sets/{set_id}/members", limit=10, offset=offset).json()
        assert page["total_record_count"] == total
        seen += [m["id"] for m in page["member"]]
    assert len(seen) == total == len(set(seen))
    assert seed.CASES["already_linked"] not in seen
    first = api.get(f"/conf/sets/{set_id}/members", limit=1).json()["member"][0]
    assert first["description"].startswith("The Columbia River Gorge")
    assert first["link"].endswith(f"/bibs/{first['id']}")
    assert api.get(f"/conf/sets/{set_id}/members", limit=101).status_code == 400


def test_create_set_and_member_operations(api):
    body = {"name": "nzbot temp set", "type": {"value": "ITEMIZED"}, "content": {"value": "BIB_MMS"},
            "private": {"value": "false"}}
    r = api.post("/conf/sets", body)
    assert r.status_code == 200
    created = r.json()
    set_id = created["id"]
    assert set_id.isdigit() and created["number_of_members"]["value"] == 0

    add = {"members": {"member": [{"id": seed.CASES["unique"]}, {"id": seed.CASES["multi"]}]}}
    r = api.post(f"/conf/sets/{set_id}", add, op="add_members")
    assert r.json()["number_of_members"]["value"] == 2
    r = api.post(f"/conf/sets/{set_id}", {"members": {"member": [{"id": seed.CASES["multi"]}]}},
                 op="delete_members")
    assert r.json()["number_of_members"]["value"] == 1
    r = api.post(f"/conf/sets/{set_id}", {"members": {"member": [{"id": seed.CASES["no_match"]}]}},
                 op="replace_members")
    members = api.get(f"/conf/sets/{set_id}/members").json()["member"]
    assert [m["id"] for m in members] == [seed.CASES["no_match"]]


def test_add_members_limits(api):
    set_id = api.post("/conf/sets", {"name": "big", "type": {"value": "ITEMIZED"},
                                     "content": {"value": "BIB_MMS"}}).json()["id"]
    too_many = {"members": {"member": [{"id": str(99100000006391 + i)} for i in range(1001)]}}
    r = api.post(f"/conf/sets/{set_id}", too_many, op="add_members", fail_on_invalid_id="false")
    assert r.status_code == 400
    unknown = {"members": {"member": [{"id": "99999999906391"}, {"id": seed.CASES["unique"]}]}}
    assert api.post(f"/conf/sets/{set_id}", unknown, op="add_members").status_code == 400
    r = api.post(f"/conf/sets/{set_id}", unknown, op="add_members", fail_on_invalid_id="false")
    assert r.json()["number_of_members"]["value"] == 1  # the invalid id was ignored
    logical = api.post(f"/conf/sets/{seed.SETS['logical']}", unknown, op="add_members")
    assert logical.status_code == 400


def test_an_itemized_set_is_made_empty_whatever_members_the_body_names(sim, api):
    # as Alma: members come only through op=add_members (conf.json, POST /conf/sets)
    body = {"name": "made with members", "type": {"value": "ITEMIZED"}, "content": {"value": "BIB_MMS"},
            "members": {"member": [{"id": seed.CASES["unique"]}]}}
    created = api.post("/conf/sets", body).json()
    assert created["number_of_members"]["value"] == 0
    assert not sim.state.sets[created["id"]].members
