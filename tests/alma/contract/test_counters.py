"""Issue 9 item 9: the link job's counter keys are a guess (nzbot/report.py COUNTER_KINDS).
A run whose keys are all unknown is reported with Alma's counters as they come, no known
row shown as 0, and its keys are logged once at INFO.

The instance follows Testing-Environment/esploro-csv-researcher-loader's recorded GET
/conf/jobs/{id}/instances/{iid} (get-job-instance-api.md, JSON form): counter is a list of
{"type": {"value", "desc"}, "value": "<digits as a string>"}.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from nzbot.report import COUNTER_KINDS, job_report
from tests.bot.test_messages import link_job

PATH = "/almaws/v1/conf/jobs/M85/instances/9563643080000561"


def instance(counters: list[tuple[str, str, str]]) -> dict:
    return {
        "id": "9563643080000561",
        "name": "Link a set of records to the Network Zone - via API - 2025-10-05 4:11 AM",
        "progress": 100,
        "status": {"value": "COMPLETED_SUCCESS", "desc": "Completed Successfully"},
        "submitted_by": {"value": "exl_api", "desc": "Ex Libris, API"},
        "submit_time": "2025-10-05T09:11:32.592Z",
        "start_time": "2025-10-05T09:11:32.658Z",
        "end_time": "2025-10-05T09:11:36.463Z",
        "status_date": "2025-10-05Z",
        "alert": [{"value": "alert_general_success",
                   "desc": "The job completed successfully. For more information view the report details."}],
        "counter": [{"type": {"value": key, "desc": desc}, "value": value} for key, desc, value in counters],
        "job_info": {"id": "M85", "name": "Link a set of records to the Network Zone",
                     "type": {"value": "MANUAL", "desc": "Manual"}},
        "link": "https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/jobs/M85" + PATH[22:],
    }


UNKNOWN = [("link_to_nz.records_linked", "Number of records linked", "41"),
           ("link_to_nz.records_multi", "Number of records with multiple matches", "3")]


def report_of(stub, stub_client, counters):
    stub.answer_json("GET", PATH, instance(counters))
    got = stub_client.get_job_instance("M85", "9563643080000561")
    job = link_job(state="finished", instance_id=got.id, status=got.status,
                   counters=got.counters)
    return job, job_report(job)


def test_unknown_keys_are_shown_as_alma_sends_them_and_logged_once(stub, stub_client, caplog, monkeypatch):
    assert not any(key in COUNTER_KINDS for key, _, _ in UNKNOWN)
    # "once" is per process: another test in this process may have logged these keys already
    monkeypatch.setattr("nzbot.report._logged_keys", set())
    caplog.set_level(logging.INFO, logger="nzbot.report")
    job, report = report_of(stub, stub_client, UNKNOWN)
    assert report.counts == {} and report.labelled_counts == []  # no "Linked 0"
    assert [(c.label, c.value) for c in report.other_counters] == [
        ("Number of records linked", 41), ("Number of records with multiple matches", 3)]
    job_report(replace(job, id=2))  # the same keys again: not logged again
    logged = [r for r in caplog.records if "link job counters from Alma" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.INFO
    assert "link_to_nz.records_linked" in logged[0].getMessage()
    assert "link_to_nz.records_multi" in logged[0].getMessage()


def test_known_keys_fill_the_known_rows(stub, stub_client):
    key = next(k for k, kind in COUNTER_KINDS.items() if kind == "linked")
    _, report = report_of(stub, stub_client, [(key, "Records linked", "7"), ("x.other", "Other", "2")])
    assert report.counts["linked"] == 7 and report.counts["failed"] == 0
    assert [(c.label, c.value) for c in report.other_counters] == [("Other", 2)]
