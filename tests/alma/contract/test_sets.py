"""Issue 9 item 6: Alma refuses a taken set name and a member named twice or already in the
set; the client sends each member once, and a retry after a crash reuses the set it made.

Answers follow esploro-csv-researcher-loader's recorded POST /conf/sets and add_members
responses (sets-createset-post-api.md, sets-managemembers-post-api.md); refusals use
conf.json's codes (402263 for POST /conf/sets, 60115/60119 for POST /conf/sets/{set_id}).
"""

from __future__ import annotations

import json

import pytest

from alma.errors import SetNameTaken
from tests.alma.contract.test_errors import json_error

SET_ID = "9563654780000561"
NAME = "nzbot cases 2026-12-01 12-15"
IDS = ["991274654700561", "99998648800561"]


def set_answer(members: int, name: str = NAME) -> dict:
    return {
        "id": SET_ID,
        "name": name,
        "description": "Records linked by the Program Manager's decisions",
        "type": {"value": "ITEMIZED", "desc": "Itemized"},
        "content": {"value": "BIB_MMS", "desc": "All Titles"},
        "status": {"value": "ACTIVE", "desc": "Active"},
        "origin": {"value": "UI", "desc": "Institution only"},
        "private": {"value": "false", "desc": "No"},
        "status_date": "2025-10-05T09:38:16.058Z",
        "created_by": {"value": "exl_api", "desc": "Ex Libris, API"},
        "created_date": "2025-10-05T09:38:16.058Z",
        "number_of_members": {"value": members,
                              "link": f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/sets/{SET_ID}/members"},
        "link": f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/sets/{SET_ID}",
    }


def sent_members(seen) -> list[str]:
    return [m["id"] for m in json.loads(seen.body)["members"]["member"]]


def test_members_named_twice_are_sent_once(stub, stub_client):
    stub.answer_json("POST", "/almaws/v1/conf/sets", set_answer(0))
    stub.answer_json("POST", f"/almaws/v1/conf/sets/{SET_ID}", set_answer(2))
    created = stub_client.create_set(NAME, [IDS[0], IDS[1], IDS[0]])
    assert created.number_of_members == 2
    (add,) = stub.calls("POST", f"/almaws/v1/conf/sets/{SET_ID}")
    assert sent_members(add) == IDS and add.query["op"] == ["add_members"]


def test_a_taken_name_is_a_clear_refusal(stub, stub_client):
    stub.answer("POST", "/almaws/v1/conf/sets",
                json_error("402263", "The set name already exists. Please choose a different name."))
    with pytest.raises(SetNameTaken, match=f"A set named '{NAME}' exists already"):
        stub_client.create_set(NAME, IDS)
    assert not stub.calls("POST", f"/almaws/v1/conf/sets/{SET_ID}")


def test_a_retry_after_a_crash_reuses_the_set_it_made(stub, stub_client):
    stub.answer("POST", "/almaws/v1/conf/sets",
                json_error("402263", "The set name already exists. Please choose a different name."))
    stub.answer_json("GET", "/almaws/v1/conf/sets", {"set": [set_answer(1, NAME + " (old)"), set_answer(1)],
                                                      "total_record_count": 2})
    stub.answer_json("POST", f"/almaws/v1/conf/sets/{SET_ID}", set_answer(2))
    reused = stub_client.create_set(NAME, IDS, reuse=True)
    assert reused.id == SET_ID and reused.number_of_members == 2
    (replace,) = stub.calls("POST", f"/almaws/v1/conf/sets/{SET_ID}")
    assert replace.query["op"] == ["replace_members"] and sent_members(replace) == IDS


def test_members_already_in_the_set_are_not_sent_again(stub, stub_client):
    stub.answer("POST", f"/almaws/v1/conf/sets/{SET_ID}",
                json_error("60115", "A member ID is already in the set."))
    stub.answer_json("POST", f"/almaws/v1/conf/sets/{SET_ID}", set_answer(2))
    # After uo_set_members_items.json's shape: "member" list and total_record_count
    stub.answer_json("GET", f"/almaws/v1/conf/sets/{SET_ID}/members", {
        "member": [{"id": IDS[0], "description": "A title",
                    "link": f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/bibs/{IDS[0]}"}],
        "total_record_count": 1})
    result = stub_client.add_set_members(SET_ID, IDS)
    assert result.number_of_members == 2
    first, second = stub.calls("POST", f"/almaws/v1/conf/sets/{SET_ID}")
    assert sent_members(first) == IDS and sent_members(second) == [IDS[1]]
