"""Issue 9 item 5: which run a job-run answer names, and the refusals that wait.

Answers follow Testing-Environment/esploro-csv-researcher-loader's recorded op=run response
(jobs-post-api.md, JSON form): the job with "parameter" and "additional_info" {"value":
"Job no. N triggered on <date>", "link": ".../instances/N"}, "link" last. Refusals use
conf.json's codes for POST /conf/jobs/{job_id}, in bad_request.json's error shape.
"""

from __future__ import annotations

import pytest

from alma.errors import AlmaRequestError, JobLimitReached, JobStartUncertain
from tests.alma.contract.conftest import Answer
from tests.alma.contract.test_errors import json_error

RUN = "/almaws/v1/conf/jobs/M85"
PARAMS = {"set_id": "9563211250000561"}


def run_answer(additional_info: dict | None) -> dict:
    answer = {
        "id": "M85",
        "name": "Link a set of records to the Network Zone",
        "type": {"value": "MANUAL", "desc": "Manual"},
        "category": {"value": "REPOSITORY", "desc": "Repository"},
        "parameter": [{"name": {"value": "set_id"}, "value": PARAMS["set_id"]}],
    }
    if additional_info is not None:
        answer["additional_info"] = additional_info
    answer["link"] = "https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/jobs/M85"
    return answer


def test_the_instance_comes_from_additional_info_link(stub, stub_client):
    stub.answer_json("POST", RUN, run_answer({
        "value": "Job no. 9563643080000561 triggered on Sun, 05 Oct 2025 09:11:32 GMT",
        "link": "https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/jobs/M85/instances/9563643080000561",
    }))
    run = stub_client.run_job("M85", PARAMS)
    assert (run.job_id, run.instance_id) == ("M85", "9563643080000561")
    assert stub.calls("POST", RUN)[0].query["op"] == ["run"]


def test_without_a_link_the_instance_comes_from_the_job_no_text(stub, stub_client):
    stub.answer_json("POST", RUN, run_answer({
        "value": "Job no. 9563654220000561 triggered on Sun, 05 Oct 2025 09:15:42 GMT"}))
    assert stub_client.run_job("M85", PARAMS).instance_id == "9563654220000561"


@pytest.mark.parametrize("info", [None, {"value": "Job triggered"}, {"value": "", "link": ""}])
def test_with_neither_the_start_is_uncertain_never_a_refusal(stub, stub_client, info):
    stub.answer_json("POST", RUN, run_answer(info))
    with pytest.raises(JobStartUncertain) as caught:
        stub_client.run_job("M85", PARAMS)
    assert not isinstance(caught.value, AlmaRequestError)  # the run may well exist
    assert "looks for it" in str(caught.value)


@pytest.mark.parametrize("code, message", [
    ("402222", "Execution threshold reached."),
    ("402223", "Execution threshold reached."),
    ("60347", "Job overlapps with running job - cannot execute."),
])
def test_threshold_and_overlap_refusals_are_job_limits(stub, stub_client, code, message):
    stub.answer("POST", RUN, json_error(code, message))
    with pytest.raises(JobLimitReached) as caught:
        stub_client.run_job("M85", PARAMS)
    assert caught.value.code == code
    assert len(stub.calls("POST", RUN)) == 1


def test_bad_parameters_are_a_plain_refusal(stub, stub_client):
    stub.answer("POST", RUN, json_error("402228", "Mandatory parameter is missing from input."))
    with pytest.raises(AlmaRequestError) as caught:
        stub_client.run_job("M85", PARAMS)
    assert not isinstance(caught.value, JobLimitReached)


def test_a_run_answered_500_is_not_sent_again(stub, stub_client):
    stub.answer("POST", RUN, Answer(500, "<html>Internal Server Error</html>", "text/html"))
    with pytest.raises(Exception):
        stub_client.run_job("M85", PARAMS)
    assert len(stub.calls("POST", RUN)) == 1
