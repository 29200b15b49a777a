"""Item 11: real catalogue MARC that cannot be parsed sinks only itself.

Shapes: the bibs follow the University of Oregon's GET /bibs JSON (see
test_marc_declaration.py); the SRU page follows SLSP's NZ searchRetrieve (see test_sru.py).
Real catalogues hold records with control characters XML forbids (a stray U+001F
subfield delimiter from an old conversion, an ESC from a pasted MARC-8 string) and, rarer,
MARCXML cut short. JSON carries them happily ("\\u001f"); an XML parser refuses them.
"""

from __future__ import annotations

import pytest
from pymarc import Field, Record, Subfield

from alma.errors import RecordUnreadable
from alma.matching import NzIndex, Verdict, match_bib
from alma.preview import nz_index_for
from tests.alma.contract.conftest import SRU_PATH, Answer
from tests.alma.contract.test_marc_declaration import MARC, uo_bib
from tests.alma.contract.test_sru import marc, sru12

GOOD, CONTROL, BROKEN = "9949620601852", "9949620601853", "9949620601854"
XML = "application/xml;charset=UTF-8"


def batch() -> dict:
    control = uo_bib(CONTROL, MARC.replace("Journal of water", "Journal\x1f of water"))
    broken = uo_bib(BROKEN, MARC[: len(MARC) // 2])  # cut short mid-record
    return {"bib": [uo_bib(GOOD), control, broken], "total_record_count": 3}


def test_one_unreadable_record_does_not_sink_its_batch(stub, stub_client):
    stub.answer_json("GET", "/almaws/v1/bibs", batch())
    bibs = {b.mms_id: b for b in stub_client.get_bibs([GOOD, CONTROL, BROKEN])}
    assert set(bibs) == {GOOD, CONTROL, BROKEN}
    assert bibs[GOOD].record is not None and bibs[GOOD].unreadable is None
    for mms_id in (CONTROL, BROKEN):
        assert bibs[mms_id].record is None and "not well-formed" in bibs[mms_id].unreadable
    verdicts = {m: match_bib(b, NzIndex()).verdict for m, b in bibs.items()}
    assert verdicts == {GOOD: Verdict.NONE, CONTROL: Verdict.UNREADABLE, BROKEN: Verdict.UNREADABLE}
    assert match_bib(bibs[CONTROL], NzIndex()).iz.title == "Journal of water and health."


def test_an_unreadable_record_cannot_be_changed_and_says_why(stub, stub_client):
    stub.answer_json("GET", f"/almaws/v1/bibs/{BROKEN}", batch()["bib"][2])
    with pytest.raises(RecordUnreadable, match=f"IZ record {BROKEN} can't be read.*Metadata Editor"):
        stub_client.get_bib(BROKEN).marc()


def test_control_characters_are_removed_before_a_put(stub, stub_client):
    record = Record()
    record.add_field(Field("001", data=GOOD))
    record.add_field(Field("245", ["0", "0"], [Subfield("a", "Journal\x1b of\x00 water\x1f\tand health.")]))
    stub.answer("PUT", f"/almaws/v1/bibs/{GOOD}", Answer(200, f"<bib><mms_id>{GOOD}</mms_id></bib>", XML))
    stub_client.update_bib(GOOD, record)
    body = stub.calls("PUT", f"/almaws/v1/bibs/{GOOD}")[0].body.decode("utf-8")
    assert "Journal of water\tand health." in body
    assert not any(ch in body for ch in "\x00\x1b\x1f")


def test_one_broken_record_does_not_sink_its_sru_page(stub, stub_client):
    broken = marc("991000000000005501", "3")[:-60]  # cut short: its </record> is gone
    page = sru12(marc("991000000000001501", "1"), broken, marc("991000000000002501", "2"))
    stub.answer("GET", SRU_PATH, Answer(200, page, XML))
    found = stub_client.sru_page("alma.oclc_control_number_035_az=(OCoLC)1")
    assert [r["001"].data for r in found.records] == [
        "991000000000001501", "991000000000005501", "991000000000002501"]
    assert found.unreadable == ("991000000000005501",) and found.number_of_records == 3
    # Read leniently for what matching needs: Alma's job will match it, so must we.
    assert found.records[1]["035"]["a"] == "(OCoLC)3"


def test_a_broken_nz_record_still_counts_as_a_candidate(stub, stub_client):
    """Leaving it out would say "no NZ match" and invite contributing a duplicate."""
    nz = marc("991000000000005501", "52467191")[:-60]
    stub.answer("GET", SRU_PATH, Answer(200, sru12(nz, marc("991000000000001501", "9")), XML))
    stub.answer_json("GET", "/almaws/v1/bibs", {"bib": [uo_bib(GOOD)], "total_record_count": 1})
    bibs = stub_client.get_bibs([GOOD])
    match = match_bib(bibs[0], nz_index_for(stub_client, bibs))
    assert match.verdict is Verdict.UNIQUE and match.candidates[0].mms_id == "991000000000005501"


def test_a_broken_record_without_an_001_is_left_out(stub, stub_client):
    nameless = '<record xmlns="http://www.loc.gov/MARC21/slim"><leader>x</leader><datafield tag="035">'
    stub.answer("GET", SRU_PATH, Answer(200, sru12(nameless, marc("991000000000001501", "1")), XML))
    found = list(stub_client.sru_search("alma.oclc_control_number_035_az=(OCoLC)1"))
    assert [r["001"].data for r in found] == ["991000000000001501"]
    assert len(stub.calls("GET", SRU_PATH)) == 1  # its place on the page was counted


def test_an_nz_record_with_a_control_character_is_still_matched(stub, stub_client):
    """NZ records are only read: dropping the forbidden character keeps the candidate, so
    an IZ record is not told "no NZ match" (and contributed as a duplicate) because of it."""
    nz = marc("991000000000001501", "52467191").replace("Je veux", "Je\x1f veux")
    stub.answer("GET", SRU_PATH, Answer(200, sru12(nz), XML))
    stub.answer_json("GET", "/almaws/v1/bibs", {"bib": [uo_bib(GOOD)], "total_record_count": 1})
    bibs = stub_client.get_bibs([GOOD])
    match = match_bib(bibs[0], nz_index_for(stub_client, bibs))
    assert match.verdict is Verdict.UNIQUE and match.candidates[0].mms_id == "991000000000001501"
