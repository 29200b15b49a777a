"""The Network Zone as a zone of its own: its own API key on the same base URL (the key
decides the zone, as in Alma), its records read and replaced with that key, the link
job's other-system profile matching a prefixed 035 $a exactly, and the merge control
that stands for the Program Manager's "Merge Records and Combine Inventory"."""

from __future__ import annotations

import subprocess
import sys

import requests

from alma.simulator import seed

from .conftest import Api, counters, printed_settings

NZ_KEY = "sim-nz-key"


def _put(api: Api, mms_id: str, body: bytes):
    return api.http.put(api.url(f"/bibs/{mms_id}"), data=body,
                        headers={"Content-Type": "application/xml"}, timeout=10)


def _sru_ids(sim, query: str) -> list[str]:
    text = requests.get(sim.sru_url, params={"version": "1.2", "operation": "searchRetrieve",
                                             "recordSchema": "marcxml", "query": query}, timeout=10).text
    import re
    return re.findall(r'<controlfield tag="001">(\d+)</controlfield>', text)


def test_the_nz_key_reads_nz_records_and_the_iz_key_does_not(sim):
    nz_id = seed.NZ_RECORDS["multi_a"]
    nz, iz = Api(sim, key=NZ_KEY), Api(sim)
    r = nz.get(f"/bibs/{nz_id}")
    assert r.status_code == 200
    bib = r.json()
    assert bib["mms_id"] == nz_id and "(OCoLC)61111111" in bib["network_number"]
    assert "<record>" in bib["anies"][0]  # after the XML declaration real Alma sends
    # the same MMS ID with the IZ's key: not one of the institution's records
    refused = iz.get(f"/bibs/{nz_id}")
    assert refused.status_code == 400 and "not valid" in refused.json()["errorList"]["error"][0]["errorMessage"]
    # and an IZ record with the NZ's key: not one of the network's
    assert nz.get(f"/bibs/{seed.CASES['multi']}").status_code == 400


def test_the_nz_key_may_only_use_bibs(sim):
    r = Api(sim, key=NZ_KEY).get("/conf/jobs", type="MANUAL")
    assert r.status_code == 400  # issue 9: as real Alma, an XML body even to a JSON request
    assert r.headers["Content-Type"].startswith("application/xml")
    assert b"<errorCode>UNAUTHORIZED</errorCode>" in r.content


def test_put_with_the_nz_key_replaces_the_nz_record_and_search_sees_it(sim):
    nz_id = seed.NZ_RECORDS["multi_b"]
    nz = Api(sim, key=NZ_KEY)
    body = (b'<bib><record><leader>01234nam a2200385 i 4500</leader>'
            b'<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(OCoLC)61111111</subfield></datafield>'
            b'<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(NZBOT)c1-abcd</subfield></datafield>'
            b'<datafield ind1="1" ind2="0" tag="245"><subfield code="a">Birds of the Pacific Northwest.</subfield></datafield>'
            b'</record></bib>')
    r = _put(nz, nz_id, body)
    assert r.status_code == 200 and "(NZBOT)c1-abcd" in r.text
    assert "(NZBOT)c1-abcd" in nz.get(f"/bibs/{nz_id}").json()["network_number"]
    assert sim.state.nz_ids_by_035a("(NZBOT)c1-abcd") == [nz_id]
    assert _sru_ids(sim, 'alma.other_system_number="(NZBOT)c1-abcd"') == [nz_id]
    # the IZ record is untouched by a PUT with the NZ key
    assert sim.state.iz[seed.CASES["multi"]].marc.values_035("a") == ["(OCoLC)61111111"]


def test_other_system_profile_matches_the_prefixed_035_exactly(sim, api):
    chosen, other = seed.NZ_RECORDS["multi_b"], seed.NZ_RECORDS["multi_a"]
    iz_id = seed.CASES["multi"]
    sim.state.set_nz_marc(chosen, _with_035(sim.state.nz[chosen].marc, "(NZBOT)c7-0001"))
    # a near miss on the other candidate must not match
    sim.state.set_nz_marc(other, _with_035(sim.state.nz[other].marc, "(NZBOT)c7-00011"))
    sim.state.iz[iz_id].marc = _with_035(sim.state.iz[iz_id].marc, "(NZBOT)c7-0001")
    the_set = sim.state.make_set("token set", [iz_id])
    r = api.run_link_job(
        the_set.id,
        non_serial_match_profile="com.exlibris.repository.mms.match.OtherSystemOrStandardNumberMatchProfile",
        serial_match_profile="com.exlibris.repository.mms.match.OtherSystemOrStandardNumberSerialMatchProfile",
        non_serial_match_prefix="(NZBOT)", serial_match_prefix="(NZBOT)",
    )
    last = api.wait_for(r.json()["additional_info"]["link"])[-1]
    assert counters(last)["link_bib_to_nz.linked"] == 1
    assert sim.state.linked_nz_id_of(iz_id) == chosen


def test_the_merge_control_leaves_only_the_primary_and_moves_linked_records(sim):
    primary, duplicate = seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]
    follower = sim.state.add_iz(sim.state.iz[seed.CASES["multi"]].marc, linked_nz_id=duplicate).mms_id
    assert sorted(_sru_ids(sim, "alma.oclc_control_number_035_az=(OCoLC)61111111")) == sorted([primary, duplicate])
    r = requests.post(f"{sim.control_url}/nz/merge", json={"primary": primary, "duplicates": [duplicate]},
                      timeout=10)
    assert r.status_code == 200 and r.json()["merged"] == [duplicate]
    assert _sru_ids(sim, "alma.oclc_control_number_035_az=(OCoLC)61111111") == [primary]
    assert sim.state.linked_nz_id_of(follower) == primary
    bad = requests.post(f"{sim.control_url}/nz/merge", json={"primary": primary, "duplicates": [duplicate]},
                        timeout=10)
    assert bad.status_code == 400  # the duplicate is gone: nothing to merge


def test_nzbot_simulator_prints_the_nz_key_as_its_setting():
    proc = subprocess.Popen([sys.executable, "-m", "alma.simulator", "--port", "0", "--job-seconds", "0.1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        exports, _ = printed_settings(proc.stdout)
        base, key = exports["ALMA_API_URL"], exports["ALMA_NZ_API_KEY"]
        assert key and " " not in key
        r = requests.get(f"{base}/almaws/v1/bibs/{seed.NZ_RECORDS['unique']}",
                         headers={"Authorization": f"apikey {key}", "Accept": "application/json"}, timeout=10)
        assert r.status_code == 200 and r.json()["mms_id"] == seed.NZ_RECORDS["unique"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _with_035(marc, value):
    from alma.simulator.marc import Marc, datafield

    record = marc.record()
    record.add_ordered_field(datafield("035", "  ", "a", value))
    return Marc.from_record(record)


def _with_005(body: bytes, version: str) -> bytes:
    return body.replace(b"<record>", f'<record><controlfield tag="005">{version}</controlfield>'.encode(), 1)


def _version_of(api: Api, mms_id: str) -> str:
    import re
    anies = api.get(f"/bibs/{mms_id}").json()["anies"][0]
    return re.search(r'<controlfield tag="005">([^<]*)</controlfield>', anies).group(1)


def _error_code(r) -> str:
    import re
    return re.search(r"<errorCode>([^<]+)</errorCode>", r.text).group(1) if r.text.lstrip().startswith("<") \
        else r.json()["errorList"]["error"][0]["errorCode"]


def test_a_save_from_an_older_copy_is_refused_when_the_version_is_checked(sim):
    """bibs.json, PUT /bibs/{mms_id}: stale_version_check=true and a 005 not the stored one
    is 400 4022034; each save moves the 005 on; without the check, the older copy wins."""
    nz_id = seed.NZ_RECORDS["multi_b"]
    nz = Api(sim, key=NZ_KEY)
    body = (b'<bib><record><leader>01234nam a2200385 i 4500</leader>'
            b'<datafield ind1="1" ind2="0" tag="245"><subfield code="a">Birds.</subfield></datafield>'
            b'</record></bib>')
    read = _version_of(nz, nz_id)
    saved = nz.http.put(nz.url(f"/bibs/{nz_id}"), params={"stale_version_check": "true"},
                        data=_with_005(body, read), headers={"Content-Type": "application/xml"}, timeout=10)
    assert saved.status_code == 200
    now = _version_of(nz, nz_id)
    assert now > read and len(now) == len("20240105120000.0")
    stale = nz.http.put(nz.url(f"/bibs/{nz_id}"), params={"stale_version_check": "true"},
                        data=_with_005(body.replace(b"Birds.", b"Fish."), read),
                        headers={"Content-Type": "application/xml"}, timeout=10)
    assert stale.status_code == 400 and _error_code(stale) == "4022034"
    assert "Birds." in nz.get(f"/bibs/{nz_id}").json()["anies"][0]  # nothing saved
    unchecked = _put(nz, nz_id, _with_005(body.replace(b"Birds.", b"Fish."), read))
    assert unchecked.status_code == 200 and _version_of(nz, nz_id) > now


def test_the_iz_checks_the_version_of_an_unlinked_record_too(sim):
    iz_id = seed.CASES["no_match"]
    iz = Api(sim)
    record = iz.get(f"/bibs/{iz_id}").json()["anies"][0]
    body = f"<bib>{record[record.index('<record'):]}</bib>".encode()
    sim.faults.saved_meanwhile.add(iz_id)  # a cataloger saves it first
    r = iz.http.put(iz.url(f"/bibs/{iz_id}"), params={"stale_version_check": "true"}, data=body,
                    headers={"Content-Type": "application/xml"}, timeout=10)
    assert r.status_code == 400 and _error_code(r) == "4022034"
    assert "Note added in the Metadata Editor" in iz.get(f"/bibs/{iz_id}").json()["anies"][0]
