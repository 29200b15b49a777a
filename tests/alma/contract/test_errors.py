"""Issue 9 items 2 and 10: a 400 is "not found" only when its errorCode is the one Alma's
OpenAPI spec lists for that operation, and UNAUTHORIZED is a permission error that names
the permission the key lacks.

Bodies follow pulibrary/bibdata's recorded Alma errors (JSON: bad_request.json, errorCode
402204; XML: bad_request.xml, a web_service_result with errorCode 402203), with the
errorCode and message changed to those the spec (bibs.json, conf.json) lists per operation.
"""

from __future__ import annotations

import json

import pytest

from alma.errors import AlmaPermissionError, AlmaRequestError, JobNotFound, RecordNotFound, SetNotFound
from tests.alma.contract.conftest import Answer

MMS_ID = "9949620601852"
SET_ID = "9563654780000561"


def json_error(code: str, message: str) -> Answer:
    # After bad_request.json: {"errorsExist":true,"errorList":{"error":[{...}]},"result":null}
    return Answer(400, json.dumps({
        "errorsExist": True,
        "errorList": {"error": [{"errorCode": code, "errorMessage": message,
                                 "trackingId": "E01-0312225307-JJDGC-AWAE1735835386"}]},
        "result": None,
    }))


def xml_error(code: str, message: str) -> Answer:
    # After bad_request.xml: indented, namespaced web_service_result, sent as XML even though
    # the client asked for JSON (as Alma does for UNAUTHORIZED).
    return Answer(400, f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
  <web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">
    <errorsExist>true</errorsExist>
    <errorList>
      <error>
        <errorCode>{code}</errorCode>
        <errorMessage>{message}</errorMessage>
        <trackingId>E01-0212223205-P0XW8-AWAE584905282</trackingId>
      </error>
    </errorList>
  </web_service_result>""", "application/xml;charset=UTF-8")


UNAUTHORIZED = ("UNAUTHORIZED", "API-key not defined or not configured to allow this API.")


def test_the_specs_not_found_code_for_a_bib_is_record_not_found(stub, stub_client):
    stub.answer("GET", f"/almaws/v1/bibs/{MMS_ID}", xml_error("402203", f"Input parameters mmsId {MMS_ID} is not valid."))
    with pytest.raises(RecordNotFound) as caught:
        stub_client.get_bib(MMS_ID)
    assert caught.value.code == "402203" and caught.value.tracking_id == "E01-0212223205-P0XW8-AWAE584905282"
    assert str(caught.value).startswith(f"There is no bib record with MMS ID {MMS_ID}")


def test_another_400_on_a_bib_is_not_not_found(stub, stub_client):
    stub.answer("GET", f"/almaws/v1/bibs/{MMS_ID}", json_error(
        "401652", "General Error - An error has occurred while processing the request."))
    with pytest.raises(AlmaRequestError) as caught:
        stub_client.get_bib(MMS_ID)
    assert not isinstance(caught.value, RecordNotFound)
    assert caught.value.code == "401652" and "General Error" in str(caught.value)


def test_a_set_is_not_found_only_with_60107(stub, stub_client):
    stub.answer("GET", f"/almaws/v1/conf/sets/{SET_ID}", json_error("60107", "Invalid set ID."),
                json_error("402203", "Input parameters mmsId X is not valid."))
    with pytest.raises(SetNotFound, match=f"There is no set with id {SET_ID}"):
        stub_client.get_set(SET_ID)
    with pytest.raises(AlmaRequestError) as caught:  # a bibs code means nothing for sets
        stub_client.get_set(SET_ID)
    assert not isinstance(caught.value, SetNotFound)


def test_an_unknown_job_run_is_job_not_found(stub, stub_client):
    stub.answer("GET", "/almaws/v1/conf/jobs/M85/instances/9563643080000561",
                json_error("402218", "Invalid job instance id."))
    with pytest.raises(JobNotFound, match="no run 9563643080000561 of job M85"):
        stub_client.get_job_instance("M85", "9563643080000561")


def test_unauthorized_on_sets_says_which_permission_the_key_lacks(stub, stub_client):
    stub.answer("GET", f"/almaws/v1/conf/sets/{SET_ID}", xml_error(*UNAUTHORIZED))
    with pytest.raises(AlmaPermissionError) as caught:
        stub_client.find_set(SET_ID)
    error = caught.value
    assert not isinstance(error, SetNotFound)
    assert error.status == 400 and error.code == "UNAUTHORIZED"
    assert (error.permission, error.access) == ("Configuration", "read")
    assert str(error).startswith("The API key is not allowed to read sets: give it Configuration read/write")
    assert "\n" not in str(error) and error.message.endswith("this institution's key).")
    assert "API-key not defined or not configured to allow this API." in str(error)  # for the log


def test_unauthorized_on_bibs_and_on_running_a_job_name_their_permissions(stub, stub_client):
    stub.answer("GET", f"/almaws/v1/bibs/{MMS_ID}", xml_error(*UNAUTHORIZED))
    stub.answer("POST", "/almaws/v1/conf/jobs/M85", xml_error(*UNAUTHORIZED))
    with pytest.raises(AlmaPermissionError, match="not allowed to read bib records: give it Bibs read/write"):
        stub_client.get_bib(MMS_ID)
    with pytest.raises(AlmaPermissionError, match="not allowed to run jobs: give it Configuration read/write") as caught:
        stub_client.run_job("M85", {"set_id": SET_ID})
    assert caught.value.access == "write"
    assert len(stub.calls("POST", "/almaws/v1/conf/jobs/M85")) == 1  # a 400 is never retried


def test_an_unknown_set_name_is_one_clear_line(stub, stub_client):
    # Alma's empty list: {"total_record_count": 0} and no "set" key at all.
    stub.answer_json("GET", "/almaws/v1/conf/sets", {"total_record_count": 0})
    with pytest.raises(SetNotFound) as caught:
        stub_client.find_set("Unlinked print books")
    assert str(caught.value) == "There is no set named 'Unlinked print books'."
