"""The Network Zone as a zone of its own: its own API key on the same base URL (the key
decides the zone, as in Alma), its records read and replaced with that key, the link
job's other-system profile matching a prefixed 035 $a exactly, and the merge control
that stands for the Program Manager's "Merge Records and Combine Inventory"."""

from __future__ import annotations

import subprocess
import sys

import requests

from alma.simulator import seed

from .conftest import Api, counters

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


def test_nzbot_simulator_prints_the_nz_key_on_a_line_of_its_own():
    proc = subprocess.Popen([sys.executable, "-m", "alma.simulator", "--port", "0", "--job-seconds", "0.1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
        base = next(line.split(":", 1)[1].strip() for line in lines if "REST base URL" in line)
        (key_line,) = [line for line in lines if line.startswith("NZ API key: ")]
        key = key_line.rstrip("\n").removeprefix("NZ API key: ")
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
