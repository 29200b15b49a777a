"""Item 4: an SRU address that does not answer SRU, and SRU 1.2 / 2.0 namespaces.

Shapes: the 1.2 answer follows SLSP's public searchRetrieve on their NZ
(/view/sru/41SLSP_NETWORK, recordSchema=marcxml): `searchRetrieveResponse` in
http://www.loc.gov/zing/srw/, records/record/recordData/record in MARC21 slim. The 2.0
answer and diagnostic follow the OASIS searchRetrieve 2.0 specification's schemas
(http://docs.oasis-open.org/ns/search-ws/sruResponse and .../diagnostic). The HTML is the
kind of sign-in page a single sign-on portal answers with 200 at a wrong address.
"""

from __future__ import annotations

import pytest

from alma.errors import NotSru, SruError
from tests.alma.contract.conftest import SRU_PATH, Answer

XML = "application/xml;charset=UTF-8"


def marc(mms_id: str, ocn: str) -> str:
    return (
        '<record xmlns="http://www.loc.gov/MARC21/slim"><leader>02482nam a2200529 ca4500</leader>'
        f'<controlfield tag="001">{mms_id}</controlfield>'
        f'<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(OCoLC){ocn}</subfield></datafield>'
        '<datafield ind1="1" ind2="0" tag="245"><subfield code="a">Je veux un python</subfield></datafield>'
        "</record>"
    )


def sru12(*records: str, total: int | None = None) -> str:
    body = "".join(
        f"<record><recordSchema>marcxml</recordSchema><recordPacking>xml</recordPacking>"
        f"<recordData>{r}</recordData><recordPosition>{i}</recordPosition></record>"
        for i, r in enumerate(records, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        '<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><version>1.2</version>'
        f"<numberOfRecords>{len(records) if total is None else total}</numberOfRecords>"
        f"{'<records>' + body + '</records>' if records else ''}</searchRetrieveResponse>"
    )


SIGN_IN = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    '<form method="post" action="/login"><input name="username"><input type="password" '
    'name="password"></form></body></html>'
)


def test_an_html_sign_in_page_is_not_zero_records(stub, stub_client):
    stub.answer("GET", SRU_PATH, Answer(200, SIGN_IN, "text/html;charset=UTF-8"))
    with pytest.raises(NotSru) as caught:
        stub_client.sru_page("alma.oclc_control_number_035_az=(OCoLC)52467191")
    message = str(caught.value)
    assert "SRU" in message and stub_client.settings.nz_sru_url in message
    assert "HTML page titled 'Sign in'" in message and "ALMA_NZ_SRU_URL" in message


def test_xml_that_is_not_searchretrieve_is_not_sru(stub, stub_client):
    # Alma's REST error body, as a wrong path under /almaws answers (pul_error_400.xml's shape).
    wsr = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><web_service_result '
           'xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist>'
           "</web_service_result>")
    stub.answer("GET", SRU_PATH, Answer(200, wsr, XML))
    with pytest.raises(NotSru, match="did not answer with SRU"):
        list(stub_client.sru_search("alma.mms_id=991043825829705501"))


def test_an_empty_answer_is_not_sru(stub, stub_client):
    stub.answer("GET", SRU_PATH, Answer(200, "", XML))
    with pytest.raises(NotSru, match="an empty body"):
        stub_client.sru_page("alma.mms_id=1")


def test_sru_12_records_are_read(stub, stub_client):
    stub.answer("GET", SRU_PATH, Answer(200, sru12(marc("991012502969705501", "236405489")), XML))
    page = stub_client.sru_page("alma.mms_id=991012502969705501")
    assert page.number_of_records == 1 and page.records[0]["001"].data == "991012502969705501"


def test_sru_12_diagnostic(stub, stub_client):
    diag = ('<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><version>1.2</version>'
            "<numberOfRecords>0</numberOfRecords><diagnostics>"
            '<diagnostic xmlns="http://www.loc.gov/zing/srw/diagnostic/">'
            "<uri>info:srw/diagnostic/1/16</uri><details>alma.nope</details>"
            "<message>Unsupported index</message></diagnostic></diagnostics></searchRetrieveResponse>")
    stub.answer("GET", SRU_PATH, Answer(200, diag, XML))
    with pytest.raises(SruError, match="Unsupported index") as caught:
        stub_client.sru_page("alma.nope=1")
    assert caught.value.code == "info:srw/diagnostic/1/16" and not isinstance(caught.value, NotSru)


SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG2 = "http://docs.oasis-open.org/ns/search-ws/diagnostic"


def test_sru_20_records_are_read(stub, stub_client):
    answer = (
        f'<?xml version="1.0" encoding="UTF-8"?><sruResponse:searchRetrieveResponse xmlns:sruResponse="{SRU2}">'
        "<sruResponse:version>2.0</sruResponse:version>"
        "<sruResponse:numberOfRecords>2</sruResponse:numberOfRecords><sruResponse:records>"
        + "".join(
            "<sruResponse:record><sruResponse:recordSchema>marcxml</sruResponse:recordSchema>"
            "<sruResponse:recordXMLEscaping>xml</sruResponse:recordXMLEscaping>"
            f"<sruResponse:recordData>{marc(m, o)}</sruResponse:recordData>"
            f"<sruResponse:recordPosition>{i}</sruResponse:recordPosition></sruResponse:record>"
            for i, (m, o) in enumerate([("9911", "1"), ("9922", "2")], 1)
        )
        + "</sruResponse:records></sruResponse:searchRetrieveResponse>"
    )
    stub.answer("GET", SRU_PATH, Answer(200, answer, XML))
    page = stub_client.sru_page("alma.oclc_control_number_035_az=(OCoLC)1")
    assert page.number_of_records == 2
    assert [r["001"].data for r in page.records] == ["9911", "9922"]


def test_sru_20_diagnostic(stub, stub_client):
    answer = (
        f'<sruResponse:searchRetrieveResponse xmlns:sruResponse="{SRU2}">'
        "<sruResponse:version>2.0</sruResponse:version>"
        "<sruResponse:numberOfRecords>0</sruResponse:numberOfRecords><sruResponse:diagnostics>"
        f'<diag:diagnostic xmlns:diag="{DIAG2}"><diag:uri>info:srw/diagnostic/1/10</diag:uri>'
        "<diag:details>alma.mms_id=</diag:details><diag:message>Query syntax error</diag:message>"
        "</diag:diagnostic></sruResponse:diagnostics></sruResponse:searchRetrieveResponse>"
    )
    stub.answer("GET", SRU_PATH, Answer(200, answer, XML))
    with pytest.raises(SruError, match="Query syntax error") as caught:
        stub_client.sru_page("alma.mms_id=")
    assert caught.value.code == "info:srw/diagnostic/1/10"


def test_an_sru_address_answering_404_names_sru_and_the_url(stub, stub_client):
    """A wrong path on the Alma host (say /view/sru/ left out) answers 404 with an HTML
    page: that is a wrong ALMA_NZ_SRU_URL, said as such, not "Alma answered HTTP 404"."""
    stub.answer("GET", SRU_PATH, Answer(404, "<html><head><title>Not Found</title></head></html>",
                                        "text/html"))
    with pytest.raises(NotSru) as caught:
        stub_client.sru_page("alma.mms_id=1")
    message = str(caught.value)
    assert stub_client.settings.nz_sru_url in message and "SRU" in message
    assert "HTTP 404" in message and "ALMA_NZ_SRU_URL" in message and "'Not Found'" in message
