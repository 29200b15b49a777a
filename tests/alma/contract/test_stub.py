"""The contract stub itself answers as told, so a contract test's failure is the client's."""

import requests

from tests.alma.contract.conftest import Answer


def test_stub_serves_queued_answers_in_turn_and_records_requests(stub):
    stub.answer("GET", "/almaws/v1/x", Answer(400, "first"), Answer(200, "second"))
    first = requests.get(stub.base_url + "/almaws/v1/x?a=1", timeout=5)
    second = requests.get(stub.base_url + "/almaws/v1/x", timeout=5)
    third = requests.get(stub.base_url + "/almaws/v1/x", timeout=5)
    assert (first.status_code, first.text) == (400, "first")
    assert (second.status_code, third.text) == (200, "second")
    assert stub.calls("GET", "/almaws/v1/x")[0].query == {"a": ["1"]}


def test_stub_answers_an_unknown_path_with_an_html_404(stub):
    answer = requests.get(stub.base_url + "/nowhere", timeout=5)
    assert answer.status_code == 404 and answer.headers["Content-Type"] == "text/html"
