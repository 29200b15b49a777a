"""GET/PUT bibs: Alma's JSON and XML shapes, and its errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from alma.simulator import seed

from .conftest import Api

WSR = "{http://com/exlibris/urm/general/xmlbeans}"


def test_bibs_list_json_shape(api):
    ids = [seed.CASES["unique"], seed.CASES["already_linked"], "99999999906391"]  # last: unknown
    r = api.get("/bibs", mms_id=",".join(ids))
    assert r.status_code == 200
    doc = r.json()
    assert doc["total_record_count"] == 2  # only records that exist
    by_id = {b["mms_id"]: b for b in doc["bib"]}
    unlinked, linked = by_id[seed.CASES["unique"]], by_id[seed.CASES["already_linked"]]
    assert unlinked["linked_record_id"] == {"value": "", "type": ""}
    nz_id = seed.NZ_RECORDS["already_linked"]
    assert linked["linked_record_id"] == {"value": nz_id, "type": "NZ"}
    assert f"(EXLNZ-{api.sim.state.network_code}){nz_id}" in linked["network_number"]
    assert "(OCoLC)41234567" in unlinked["network_number"]
    assert unlinked["suppress_from_publishing"] == "false"  # booleans are strings
    assert unlinked["record_format"] == "marc21"
    assert unlinked["title"].startswith("The Columbia River Gorge")
    # Real Alma declares UTF-16 on every anies string (see tests/alma/contract/test_marc_declaration.py)
    assert unlinked["anies"][0].startswith('<?xml version="1.0" encoding="UTF-16"?><record><leader>')
    assert "xmlns" not in unlinked["anies"][0]


def test_suppressed_is_string_true(api):
    bib = api.get(f"/bibs/{seed.CASES['unique_suppressed']}").json()
    assert bib["suppress_from_publishing"] == "true"


def test_brief_view_drops_marc(api):
    doc = api.get("/bibs", mms_id=seed.CASES["unique"], view="brief").json()
    assert "anies" not in doc["bib"][0]
    assert doc["bib"][0]["title"]


def test_single_bib_json_and_xml(sim, api):
    mms_id = seed.CASES["already_linked"]
    bib = api.get(f"/bibs/{mms_id}").json()
    assert bib["mms_id"] == mms_id and len(bib["anies"]) == 1
    # the linked view: NZ content plus the IZ's local fields ($9 LOCAL 035, 590, 949)
    assert "(SIM-LOCAL)b7654321" in bib["anies"][0] and "<subfield code=\"a\">Gift of" in bib["anies"][0]
    assert 'tag="852"' not in bib["anies"][0]  # member holdings stay in the NZ

    xml_api = Api(sim, accept="application/xml")
    r = xml_api.get(f"/bibs/{mms_id}")
    assert r.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "bib" and root.findtext("mms_id") == mms_id
    assert root.find("linked_record_id").get("type") == "NZ"
    assert root.findtext("linked_record_id") == seed.NZ_RECORDS["already_linked"]
    assert root.find("record/leader") is not None
    unlinked = ET.fromstring(xml_api.get(f"/bibs/{seed.CASES['unique']}").content)
    assert unlinked.find("linked_record_id").text is None  # <linked_record_id/>


def test_nz_mms_id_finds_linked_iz_record(api):
    doc = api.get("/bibs", nz_mms_id=seed.NZ_RECORDS["already_linked"]).json()
    assert [b["mms_id"] for b in doc["bib"]] == [seed.CASES["already_linked"]]
    none = api.get("/bibs", nz_mms_id=seed.NZ_RECORDS["unique"]).json()
    assert none == {"total_record_count": 0}  # real Alma: no list key when there are no hits


def test_more_than_100_ids_refused(api):
    ids = ",".join(str(99100000006391 + i) for i in range(101))
    r = api.get("/bibs", mms_id=ids)
    assert r.status_code == 400
    assert r.json()["errorsExist"] is True
    ok = api.get("/bibs", mms_id=",".join(str(99100000006391 + i) for i in range(100)))
    assert ok.status_code == 200


def test_errors_as_alma_bodies_json_and_xml(sim, api):
    r = api.get("/bibs/banana")
    assert r.status_code == 400
    err = r.json()["errorList"]["error"][0]
    assert err["errorCode"] == "402204"
    assert err["errorMessage"] == "Input parameters mmsId banana is not numeric."
    assert err["trackingId"].startswith("E01-")
    assert r.json()["result"] is None

    r = Api(sim, accept="application/xml").get("/bibs/1234")
    assert r.status_code == 400
    root = ET.fromstring(r.content)
    assert root.tag == f"{WSR}web_service_result"
    assert root.findtext(f"{WSR}errorsExist") == "true"
    assert root.findtext(f"{WSR}errorList/{WSR}error/{WSR}errorCode") == "402203"
    assert "mmsId 1234 is not valid" in root.findtext(f"{WSR}errorList/{WSR}error/{WSR}errorMessage")


def test_unknown_path_is_404(api):
    r = api.get("/no/such/thing")
    assert r.status_code == 404 and r.json()["errorsExist"] is True


def _put(api: Api, mms_id: str, body: bytes, content_type="application/xml"):
    return api.http.put(api.url(f"/bibs/{mms_id}"), data=body,
                        headers={"Content-Type": content_type}, timeout=10)


def test_put_replaces_unlinked_record(api):
    mms_id = seed.CASES["no_match"]
    body = (b'<bib><record><leader>01234nam a2200385 i 4500</leader>'
            b'<controlfield tag="001">' + mms_id.encode() + b'</controlfield>'
            b'<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(OCoLC)88888888</subfield></datafield>'
            b'<datafield ind1="1" ind2="0" tag="245"><subfield code="a">Corrected title.</subfield></datafield>'
            b'</record></bib>')
    r = _put(api, mms_id, body)
    assert r.status_code == 200 and "<title>Corrected title.</title>" in r.text
    assert api.get(f"/bibs/{mms_id}").json()["network_number"] == ["(OCoLC)88888888"]


def test_put_on_linked_record_changes_only_local_fields(api):
    mms_id = seed.CASES["already_linked"]
    body = (b'<bib><record><leader>01234nam a2200385 i 4500</leader>'
            b'<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(SIM-LOCAL)new1</subfield>'
            b'<subfield code="9">LOCAL</subfield></datafield>'
            b'<datafield ind1="1" ind2="0" tag="245"><subfield code="a">Hijacked title.</subfield></datafield>'
            b'</record></bib>')
    assert _put(api, mms_id, body).status_code == 200
    bib = api.get(f"/bibs/{mms_id}").json()
    assert bib["title"].startswith("Mount Hood")  # the NZ's title, not ours
    assert "(SIM-LOCAL)new1" in bib["network_number"]
    assert "(SIM-LOCAL)b7654321" not in bib["network_number"]  # local fields replaced


def test_put_json_refused(api):
    r = _put(api, seed.CASES["unique"], b'{"title": "x"}', content_type="application/json")
    assert r.status_code == 400 and r.json()["errorsExist"] is True
