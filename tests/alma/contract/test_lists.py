"""Item 3: Alma's list answers, with no hits and without a total.

Shapes: with no hits Alma answers `{"total_record_count": 0}` and no list key at all
(docs/alma.md, "How real Alma answers"); the University of Oregon's public GET
/conf/sets/{id}/members answer is `{"member": [{id, description, link}, ...]}` with no
total_record_count, so the client must keep paging while pages come back full.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from alma.errors import SetNotFound
from alma.preview import open_set, preview_set
from tests.alma.contract.conftest import Answer

SET = "/almaws/v1/conf/sets/1234567890001852"
MEMBERS = SET + "/members"
EMPTY = '{"total_record_count": 0}'


def members_page(start: int, count: int, total: int | None = None) -> str:
    """A members page in the uo fixture's shape (bib members: links to /bibs/{id})."""
    page: dict = {"member": [
        {"id": f"99{n:011d}01852", "description": f"Title {n}",
         "link": f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/bibs/99{n:011d}01852"}
        for n in range(start, start + count)
    ]}
    if total is not None:
        page["total_record_count"] = total
    return json.dumps(page)


def offsets(stub, path: str) -> list[int]:
    return [int(s.query["offset"][0]) for s in stub.calls("GET", path)]


def test_empty_lists_have_no_list_key(stub, stub_client):
    stub.answer("GET", "/almaws/v1/conf/sets", Answer(200, EMPTY))
    stub.answer("GET", "/almaws/v1/conf/jobs", Answer(200, EMPTY))
    stub.answer("GET", "/almaws/v1/conf/jobs/M85/instances", Answer(200, EMPTY))
    stub.answer("GET", MEMBERS, Answer(200, EMPTY))
    stub.answer("GET", "/almaws/v1/bibs", Answer(200, EMPTY))
    assert stub_client.find_sets("Gift books") == []
    with pytest.raises(SetNotFound, match="no set named 'Gift books'"):
        stub_client.find_set("Gift books")
    assert stub_client.list_jobs() == []
    assert stub_client.list_job_instances("M85", date(2026, 1, 1)) == []
    assert list(stub_client.set_members("1234567890001852")) == []
    assert stub_client.set_members_page("1234567890001852") == ([], 0)
    assert stub_client.get_bibs(["9949620601852"]) == []
    assert stub_client.get_bib_linked_to("99160483400001451") is None


def test_members_without_a_total_are_paged_while_pages_are_full(stub, stub_client):
    stub.answer("GET", MEMBERS, Answer(200, members_page(0, 100)), Answer(200, members_page(100, 100)),
                Answer(200, members_page(200, 50)))
    members = list(stub_client.set_members("1234567890001852"))
    assert len(members) == 250 and len({m.id for m in members}) == 250
    assert offsets(stub, MEMBERS) == [0, 100, 200]
    assert members[0].description == "Title 0"


def test_a_full_last_page_without_a_total_ends_at_the_empty_page(stub, stub_client):
    stub.answer("GET", MEMBERS, Answer(200, members_page(0, 100)), Answer(200, EMPTY))
    assert len(list(stub_client.set_members("1234567890001852"))) == 100
    assert offsets(stub, MEMBERS) == [0, 100]


def test_a_page_says_when_alma_gave_no_total(stub, stub_client):
    stub.answer("GET", MEMBERS, Answer(200, members_page(0, 100)))
    members, total = stub_client.set_members_page("1234567890001852")
    assert len(members) == 100 and total is None


def test_a_total_is_trusted_when_given(stub, stub_client):
    stub.answer("GET", MEMBERS, Answer(200, members_page(0, 100, total=150)),
                Answer(200, members_page(100, 50, total=150)))
    assert len(list(stub_client.set_members("1234567890001852"))) == 150
    assert offsets(stub, MEMBERS) == [0, 100]


def test_jobs_and_runs_use_the_same_paging(stub, stub_client):
    """One loop for every list: jobs without a total page on too."""
    def jobs(start, count):
        return json.dumps({"job": [{"id": f"M{n}", "name": f"Job {n}", "type": {"value": "MANUAL"}}
                                   for n in range(start, start + count)]})
    stub.answer("GET", "/almaws/v1/conf/jobs", Answer(200, jobs(0, 100)), Answer(200, jobs(100, 3)))
    assert len(stub_client.list_jobs()) == 103
    assert offsets(stub, "/almaws/v1/conf/jobs") == [0, 100]


def test_a_250_member_set_without_totals_previews_all_250(stub, stub_client):
    """Today's bug in the issue: paging stopped after one page, so 250 previewed as 100."""
    # GET /conf/sets/{id}, after the public set objects' shape (exl_set_create.md).
    stub.answer_json("GET", SET, {
        "id": "1234567890001852", "name": "Gifts 2025", "type": {"value": "ITEMIZED"},
        "content": {"value": "BIB_MMS", "desc": "All Titles"},
        "number_of_members": {"value": 250, "link": MEMBERS}})
    stub.answer("GET", MEMBERS, Answer(200, members_page(0, 100)), Answer(200, members_page(100, 100)),
                Answer(200, members_page(200, 50)))
    stub.answer("GET", "/almaws/v1/bibs", Answer(200, EMPTY))  # none of them exist any more
    heading = open_set(stub_client, "1234567890001852")
    seen, progress = [], []
    for mms_id, match in preview_set(stub_client, heading, lambda done, total: progress.append((done, total))):
        seen.append(mms_id)
        assert match is None
    assert len(seen) == len(set(seen)) == 250
    assert offsets(stub, MEMBERS) == [0, 100, 200] and progress == [(250, 250)]
