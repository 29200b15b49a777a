"""Item 1: real Alma opens every bib's `anies` MARCXML string with a UTF-16 declaration.

The bib JSON below follows, field by field, the University of Oregon's bib from
GET /almaws/v1/bibs/{mms_id} (an IZ record linked to the Alliance NZ), with the
declaration real Alma puts in front of `anies` (that public copy had it edited out; other
institutions' payloads and clients show it: docs/alma.md, "How real Alma answers").
"""

from __future__ import annotations

from pymarc import Field, Subfield

from alma.cards import card_from_record
from tests.alma.contract.conftest import Answer

DECLARATION = '<?xml version="1.0" encoding="UTF-16"?>'
MARC = (
    "<record><leader>03870cas a2200925 a 4500</leader>"
    '<controlfield tag="001">9949620601852</controlfield>'
    '<controlfield tag="008">030619c20039999enkqr p       0    0eng c</controlfield>'
    '<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(OCoLC)52467191</subfield>'
    '<subfield code="z">(OCoLC)1058601109</subfield></datafield>'
    '<datafield ind1=" " ind2=" " tag="040"><subfield code="a">UKM</subfield>'
    '<subfield code="b">eng</subfield></datafield>'
    '<datafield ind1="0" ind2="0" tag="245"><subfield code="a">Journal of water and health.'
    "</subfield></datafield>"
    '<datafield ind1=" " ind2="1" tag="264"><subfield code="a">London ;</subfield>'
    '<subfield code="b">IWA Pub.,</subfield><subfield code="c">©2003-</subfield></datafield>'
    # Only codes in 336-338, as many records converted by machine carry them (item 11).
    '<datafield ind1=" " ind2=" " tag="336"><subfield code="b">txt</subfield>'
    '<subfield code="2">rdacontent</subfield></datafield>'
    '<datafield ind1=" " ind2=" " tag="337"><subfield code="b">n</subfield>'
    '<subfield code="2">rdamedia</subfield></datafield>'
    '<datafield ind1=" " ind2=" " tag="338"><subfield code="b">nc</subfield>'
    '<subfield code="2">rdacarrier</subfield></datafield>'
    "</record>"
)


def uo_bib(mms_id: str = "9949620601852", marc: str = MARC, linked: str = "") -> dict:
    """The uo fixture's shape: linked_record_id, network_number, string booleans, anies."""
    return {
        "mms_id": mms_id,
        "record_format": "marc21",
        "linked_record_id": {"value": linked, "type": "NZ" if linked else ""},
        "title": "Journal of water and health.",
        "author": "International Water Association.",
        "issn": "1477-8920",
        "network_number": ["(OCoLC)ocm52467191", "(OCoLC)52467191"],
        "holdings": {"link": f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/bibs/{mms_id}/holdings"},
        "created_by": "import",
        "created_date": "2014-06-12Z",
        "suppress_from_publishing": "false",
        "suppress_from_external_search": "false",
        "sync_with_oclc": "NONE",
        "originating_system": "OCLC",
        "brief_level": {"value": "10", "desc": "10"},
        "anies": [DECLARATION + marc.replace("9949620601852", mms_id)],
        "link": f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/bibs/{mms_id}",
    }


def test_one_bib_with_the_utf16_declaration_is_read(stub, stub_client):
    stub.answer_json("GET", "/almaws/v1/bibs/9949620601852", uo_bib())
    bib = stub_client.get_bib("9949620601852")
    assert bib.unreadable is None and bib.record is not None
    assert bib.record["245"]["a"] == "Journal of water and health."
    assert bib.record["264"]["c"] == "©2003-"  # the text is text: no encoding games


def test_a_batch_of_declared_bibs_is_read(stub, stub_client):
    ids = ["9949620601852", "9949620601853"]
    stub.answer_json("GET", "/almaws/v1/bibs",
                     {"bib": [uo_bib(i) for i in ids], "total_record_count": 2})
    bibs = stub_client.get_bibs(ids)
    assert [b.record["001"].data for b in bibs] == ids


def test_rda_codes_alone_show_on_the_card(stub, stub_client):
    stub.answer_json("GET", "/almaws/v1/bibs/9949620601852", uo_bib())
    card = card_from_record("9949620601852", stub_client.get_bib("9949620601852").record)
    assert (card.content_type, card.media_type, card.carrier_type) == ("txt", "n", "nc")


def test_the_record_goes_back_without_any_declaration(stub, stub_client):
    """The PUT body is one XML document in UTF-8: a UTF-16 declaration inside it would
    make Alma refuse it."""
    stub.answer_json("GET", "/almaws/v1/bibs/9949620601852", uo_bib())
    record = stub_client.get_bib("9949620601852").record
    record.add_ordered_field(Field("035", [" ", " "], [Subfield("a", "(NZBOT)t1")]))
    saved = f"<bib><mms_id>9949620601852</mms_id>{MARC}</bib>"
    stub.answer("PUT", "/almaws/v1/bibs/9949620601852",
                Answer(200, saved, "application/xml;charset=UTF-8"))
    stub_client.update_bib("9949620601852", record)
    body = stub.calls("PUT", "/almaws/v1/bibs/9949620601852")[0].body.decode("utf-8")
    assert "UTF-16" not in body and body.startswith("<bib><record>") and "(NZBOT)t1" in body
