"""The NZ SRU endpoint: OR queries, OCN normalisation, paging, the 50 cap, diagnostics."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import requests

from alma.simulator import Simulator, seed
from alma.simulator.state import State

SRW = "{http://www.loc.gov/zing/srw/}"
DIAG = "{http://www.loc.gov/zing/srw/diagnostic/}"
MARC = "{http://www.loc.gov/MARC21/slim}"
AZ = "alma.oclc_control_number_035_az"


def sru(sim, query: str, **params) -> ET.Element:
    p = {"version": "1.2", "operation": "searchRetrieve", "recordSchema": "marcxml", "query": query}
    p.update({k: str(v) for k, v in params.items()})
    r = requests.get(sim.sru_url, params=p, timeout=10)  # no API key needed
    assert r.status_code == 200
    return ET.fromstring(r.content)


def ids(root: ET.Element) -> list[str]:
    return [c.text for c in root.iter(f"{MARC}controlfield") if c.get("tag") == "001"]


def test_or_query_and_shape(sim):
    root = sru(sim, f"{AZ}=(OCoLC)41234567 OR {AZ}=\"(OCoLC)61111111\"")
    assert root.tag == f"{SRW}searchRetrieveResponse"
    assert root.findtext(f"{SRW}version") == "1.2"
    assert root.findtext(f"{SRW}numberOfRecords") == "3"
    assert set(ids(root)) == {seed.NZ_RECORDS[n] for n in ("unique", "multi_a", "multi_b")}
    rec = root.find(f"{SRW}records/{SRW}record")
    assert rec.findtext(f"{SRW}recordSchema") == "marcxml"
    assert rec.findtext(f"{SRW}recordPacking") == "xml"
    assert rec.findtext(f"{SRW}recordPosition") == "1"
    assert rec.find(f"{SRW}recordData/{MARC}record") is not None
    holders = [sf.text for df in rec.iter(f"{MARC}datafield") if df.get("tag") == "852"
               for sf in df if sf.get("code") == "a"]
    assert holders  # member institutions holding the record
    assert root.find(f"{SRW}nextRecordPosition") is None


def test_ocn_normalisation_and_z(sim):
    assert ids(sru(sim, f"{AZ}=ocm00012345")) == [seed.NZ_RECORDS["ocm_form"]]
    assert ids(sru(sim, f"{AZ}=456")) == []
    assert ids(sru(sim, f"{AZ}=(OCoLC)on1234567890")) == [seed.NZ_RECORDS["on_form"]]
    # $z counts for 035_az, not for 035_a
    assert ids(sru(sim, f"{AZ}=(OCoLC)75555555")) == [seed.NZ_RECORDS["cancelled_in_nz"]]
    assert ids(sru(sim, "alma.oclc_control_number_035_a=(OCoLC)75555555")) == []
    assert ids(sru(sim, "alma.other_system_number=(AT-OBV)AC01234567")) == [seed.NZ_RECORDS["other_system"]]
    assert ids(sru(sim, "alma.other_system_number=AC01234567")) == []  # exact, prefix included
    nz_id = seed.NZ_RECORDS["unique"]
    assert ids(sru(sim, f"alma.mms_id={nz_id}")) == [nz_id]
    # (OCoLC)TGPSM11-B2267 is not an OCN: nothing, not the trap record
    assert ids(sru(sim, f"{AZ}=(OCoLC)TGPSM11-B2267")) == []


def test_paging_and_cap():
    state = State()
    from alma.simulator.marc import build_record, datafield
    for i in range(120):
        state.add_nz(build_record("01234nam a2200385 i 4500", {"001": f"99{i}"},
                                  [datafield("035", "  ", "a", f"(OCoLC){1000 + i}")]))
    query = " OR ".join(f"{AZ}={1000 + i}" for i in range(120))
    with Simulator(state=state) as sim:
        first = sru(sim, query, maximumRecords=200)
        assert first.findtext(f"{SRW}numberOfRecords") == "120"
        assert len(first.findall(f"{SRW}records/{SRW}record")) == 50  # capped
        assert first.findtext(f"{SRW}nextRecordPosition") == "51"
        positions = []
        start = 1
        while start:
            page = sru(sim, query, startRecord=start, maximumRecords=50)
            positions += [int(r.findtext(f"{SRW}recordPosition")) for r in page.iter(f"{SRW}record")
                          if r.find(f"{SRW}recordPosition") is not None]
            nxt = page.findtext(f"{SRW}nextRecordPosition")
            start = int(nxt) if nxt else None
        assert positions == list(range(1, 121))


def test_diagnostics(sim):
    for query in ("alma.oclc_control_number_035_az", "title=foo", f"{AZ}=1 NOT {AZ}=2"):
        root = sru(sim, query)
        assert root.findtext(f"{SRW}numberOfRecords") == "0"
        diag = root.find(f"{SRW}diagnostics/{DIAG}diagnostic")
        assert diag is not None, query
        assert diag.findtext(f"{DIAG}uri").startswith("info:srw/diagnostic/1/")
        assert diag.findtext(f"{DIAG}message")
    assert sru(sim, "title=foo").find(f".//{DIAG}uri").text.endswith("/16")  # unsupported index
