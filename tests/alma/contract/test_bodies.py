"""Item 7: a 200 whose body is not JSON is an AlmaServerError saying what came back.

Shapes: an empty 200, an Alma XML `web_service_result` (pul_error_400.xml's shape, which
Alma sends even to a JSON request) and an HTML page from a proxy in front of the gateway.
Each must come back as AlmaServerError quoting a short excerpt, never a JSONDecodeError,
and never quoting the API key.
"""

from __future__ import annotations

import pytest
from pymarc import Record

from alma.errors import AlmaServerError
from tests.alma.contract.conftest import API_KEY, Answer

BIB = "/almaws/v1/bibs/9949620601852"
WSR = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><web_service_result '
       'xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>false</errorsExist>'
       "</web_service_result>")
PROXY = ("<html><head><title>Maintenance</title></head><body><h1>Down for maintenance</h1>"
         f"<p>request Authorization: apikey {API_KEY}</p></body></html>")


@pytest.mark.parametrize("body, content_type, shown", [
    ("", "application/json", "an empty body"),
    (WSR, "application/xml", "XML ('false')"),
    (PROXY, "text/html", "an HTML page titled 'Maintenance'"),
])
def test_a_200_that_is_not_json(stub, stub_client, body, content_type, shown):
    stub.answer("GET", BIB, Answer(200, body, content_type))
    with pytest.raises(AlmaServerError) as caught:
        stub_client.get_bib("9949620601852")
    message = str(caught.value)
    assert "GET /bibs/{id}" in message and "not with JSON" in message and shown in message
    assert API_KEY not in message and caught.value.status == 200
    assert len(message) < 300


def test_an_echoed_key_is_hidden_but_words_stay(stub, stub_client):
    echo = "<html><body>API-key not defined. You sent apikey=l7xx0123456789abcdef0123</body></html>"
    stub.answer("GET", BIB, Answer(200, echo, "text/html"))
    with pytest.raises(AlmaServerError) as caught:
        stub_client.get_bib("9949620601852")
    assert "API-key not defined" in str(caught.value) and "l7xx" not in str(caught.value)


def test_a_long_page_is_cut_short(stub, stub_client):
    stub.answer("GET", "/almaws/v1/conf/jobs", Answer(200, "<p>" + "lorem ipsum " * 500 + "</p>", "text/plain"))
    with pytest.raises(AlmaServerError) as caught:
        stub_client.list_jobs()
    assert "…" in str(caught.value) and len(str(caught.value)) < 300


def test_a_json_answer_that_is_not_an_object(stub, stub_client):
    stub.answer("GET", "/almaws/v1/conf/sets", Answer(200, '"ok"'))
    with pytest.raises(AlmaServerError, match="not an object"):
        stub_client.find_sets("Gift")


def test_a_post_answered_with_an_empty_200(stub, stub_client):
    stub.answer("POST", "/almaws/v1/conf/sets", Answer(200, ""))
    with pytest.raises(AlmaServerError, match="POST /conf/sets.*an empty body"):
        stub_client.create_set("nzbot test")


@pytest.mark.parametrize("body, shown", [(PROXY, "an HTML page"), ("", "an empty body"),
                                         ("{}", "a body")])
def test_a_put_answered_with_something_else(stub, stub_client, body, shown):
    stub.answer("PUT", BIB, Answer(200, body, "text/html"))
    with pytest.raises(AlmaServerError, match=f"not with a <bib>: {shown}") as caught:
        stub_client.update_bib("9949620601852", Record())
    assert API_KEY not in str(caught.value)
