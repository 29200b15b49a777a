"""Jobs: listing, the link job really linking, contribute, other-system profile, limits."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import requests

from alma.simulator import Simulator, seed
from alma.simulator.jobs import LINK_COUNTERS
from alma.simulator.payloads import JOB_CONCURRENCY_LIMIT, JOB_HOURLY_LIMIT

from .conftest import API_KEY, Api, counters


def test_job_list_has_link_job(api):
    doc = api.get("/conf/jobs", type="MANUAL", limit=100).json()
    names = {j["name"]: j for j in doc["job"]}
    link = names["Link a set of records to the Network Zone"]
    assert link["id"] == "M85" and link["type"] == {"value": "MANUAL", "desc": "Manual"}
    assert doc["total_record_count"] == len(doc["job"]) >= 3
    assert all(j["type"]["value"] == "MANUAL" for j in doc["job"])
    assert api.get("/conf/jobs/M85").json()["name"] == link["name"]
    assert api.get("/conf/jobs/NOPE").status_code == 400


def test_link_job_runs_and_links(api, sim):
    r = api.run_link_job(seed.SETS["link_test"])
    assert r.status_code == 200
    info = r.json()["additional_info"]
    assert info["value"].startswith("Job no. ")
    instance_id = info["link"].rsplit("/", 1)[-1]
    assert instance_id.isdigit() and info["value"].split()[2] == instance_id
    seen = api.wait_for(info["link"])
    statuses = [s["status"]["value"] for s in seen]
    assert "RUNNING" in statuses and statuses[0] in ("QUEUED", "RUNNING")
    progress = [float(s["progress"]) for s in seen]  # a decimal string while running, as Alma gives it
    assert progress == sorted(progress) and seen[-1]["progress"] == 100
    assert any(isinstance(s["progress"], str) and "." in s["progress"] for s in seen)
    assert any(0 < p < 100 for p in progress)  # it rose step by step
    last = seen[-1]
    assert last["status"] == {"value": "COMPLETED_WARNING", "desc": "Completed with Warnings"}  # one multi
    assert last["submitted_by"]["value"] == "exl_api"
    assert last["end_time"].endswith("Z") and last["job_info"]["id"] == "M85"
    assert last["alert"][0]["value"]
    c = counters(last)
    assert set(c) == {k for k, _ in LINK_COUNTERS}
    # unique, unique_2, serial_unique, cancelled_in_nz, ocm_form link; multi doesn't;
    # no_match and cancelled_in_iz (its own $z number isn't used) are skipped.
    assert c["link_bib_to_nz.linked"] == 5
    assert c["link_bib_to_nz.multi_match"] == 1
    assert c["link_bib_to_nz.skipped"] == 2
    assert c["link_bib_to_nz.already_linked"] == 1
    assert c["link_bib_to_nz.imported"] == 0

    bib = api.get(f"/bibs/{seed.CASES['cancelled_in_nz']}").json()
    assert bib["linked_record_id"] == {"value": seed.NZ_RECORDS["cancelled_in_nz"], "type": "NZ"}
    assert api.get(f"/bibs/{seed.CASES['multi']}").json()["linked_record_id"]["value"] == ""
    assert sim.state.linked_nz_id_of(seed.CASES["cancelled_in_iz"]) is None

    listed = api.get("/conf/jobs/M85/instances", submit_date_from="2000-01-01",
                     submit_date_to="2999-12-31", status="COMPLETED_WARNING").json()
    assert [i["id"] for i in listed["job_instance"]] == [instance_id]
    assert api.get("/conf/jobs/M85/instances", status="RUNNING").json()["total_record_count"] == 0


def test_sample_set_link_outcomes(api, sim):
    """Every sample case ends as it should after one run over all unlinked records."""
    r = api.run_link_job(seed.SETS["unlinked"])
    api.wait_for(r.json()["additional_info"]["link"])
    linked = {c for c in seed.CASES if sim.state.linked_nz_id_of(seed.CASES[c])}
    expected = {"unique", "unique_2", "unique_3", "unique_suppressed", "serial_unique",
                "cancelled_in_nz", "ocm_form", "ocn_form", "on_form", "same_ocn_twice",
                "nz_several_ocns", "already_linked"}
    assert linked == expected
    assert sim.state.linked_nz_id_of(seed.CASES["ocm_form"]) == seed.NZ_RECORDS["ocm_form"]


def test_contribute_imports_to_nz(api, sim):
    nz_before = len(sim.state.nz)
    set_id = sim.state.make_set("contribute", [seed.CASES["no_match"], seed.CASES["multi"]]).id
    r = api.run_link_job(set_id, contribute_nz="true")
    last = api.wait_for(r.json()["additional_info"]["link"])[-1]
    c = counters(last)
    assert c["link_bib_to_nz.imported"] == 1 and c["link_bib_to_nz.multi_match"] == 1
    assert len(sim.state.nz) == nz_before + 1
    new_nz = sim.state.linked_nz_id_of(seed.CASES["no_match"])
    assert new_nz and new_nz not in seed.NZ_RECORDS.values()
    # the new NZ record is findable by its OCN and held by this institution
    root = ET.fromstring(requests.get(
        sim.sru_url, params={"query": "alma.oclc_control_number_035_az=71111111"}, timeout=10).content)
    assert sim.state.institution_code in ET.tostring(root, encoding="unicode")
    assert sim.state.linked_nz_id_of(seed.CASES["multi"]) is None  # never imported


def test_other_system_number_profile(api, sim):
    r = api.run_link_job(
        seed.SETS["other_system"],
        non_serial_match_profile="com.exlibris.repository.mms.match.OtherSystemOrStandardNumberMatchProfile",
        serial_match_profile="com.exlibris.repository.mms.match.OtherSystemOrStandardNumberSerialMatchProfile",
        non_serial_match_prefix="(AT-OBV)", serial_match_prefix="(AT-OBV)",
        job_name="OBV link run",
    )
    last = api.wait_for(r.json()["additional_info"]["link"])[-1]
    assert last["name"].startswith("OBV link run")
    c = counters(last)
    assert c["link_bib_to_nz.linked"] == 1 and c["link_bib_to_nz.skipped"] == 1
    assert sim.state.linked_nz_id_of(seed.CASES["other_system"]) == seed.NZ_RECORDS["other_system"]


def test_xml_run_body_accepted(api, sim):
    body = (f"<job><parameters><parameter><name>set_id</name><value>{seed.SETS['link_test']}</value>"
            "</parameter></parameters></job>").encode()
    r = api.http.post(api.url("/conf/jobs/M85"), data=body, params={"op": "run"},
                      headers={"Content-Type": "application/xml"})
    assert r.status_code == 200 and "/instances/" in r.json()["additional_info"]["link"]


def test_bad_parameters(api):
    r = api.post("/conf/jobs/M85", {"parameter": []}, op="run")
    assert r.status_code == 400 and r.json()["errorList"]["error"][0]["errorCode"] == "402228"
    r = api.run_link_job("12345")
    assert r.json()["errorList"]["error"][0]["errorCode"] == "402229"
    r = api.run_link_job(seed.SETS["link_test"], non_serial_match_profile="com.example.Nope")
    assert r.json()["errorList"]["error"][0]["errorCode"] == "402229"


def test_item_set_fails_and_empty_set_has_no_bulks(api):
    r = api.run_link_job(seed.SETS["items"])
    last = api.wait_for(r.json()["additional_info"]["link"])[-1]
    assert last["status"]["value"] == "COMPLETED_FAILED" and last["progress"] == 0
    r = api.run_link_job(seed.SETS["empty"])
    assert api.wait_for(r.json()["additional_info"]["link"])[-1]["status"]["value"] == "COMPLETED_NO_BULKS"


def _code(r) -> str:
    return r.json()["errorList"]["error"][0]["errorCode"]


def test_fourth_concurrent_run_refused(sim):
    sim.job_seconds = 3.0
    api = Api(sim)
    ui_run = sim.state.start_job_from_ui("M26", {"set_id": seed.SETS["link_test"]})
    assert ui_run.submitted_by[0] == "jsmith"  # a person; doesn't count against the API limit
    # Three different jobs: a second run of one job would overlap its first (60347).
    for job_id in ("M85", "M28", "M44"):
        set_id = seed.SETS["items"] if job_id == "M44" else seed.SETS["link_test"]
        if job_id == "M85":
            assert api.run_link_job(set_id).status_code == 200
        else:
            assert api.post(f"/conf/jobs/{job_id}", {"parameter": [{"name": {"value": "set_id"}, "value": set_id}]},
                            op="run").status_code == 200
    fourth = api.post("/conf/jobs/M26", {"parameter": [{"name": {"value": "set_id"}, "value": seed.SETS["empty"]}]},
                      op="run")
    assert fourth.status_code == 400 and _code(fourth) == JOB_CONCURRENCY_LIMIT == "402222"


def test_a_run_overlapping_a_running_run_of_the_same_job_is_refused_with_60347(sim):
    # conf.json, POST /conf/jobs/{job_id}: "60347 - 'Job overlapps with running job - cannot execute.'"
    sim.job_seconds = 3.0
    api = Api(sim)
    sim.state.start_job_from_ui("M85", {"set_id": seed.SETS["link_test"]})  # a person's run
    overlapping = api.run_link_job(seed.SETS["link_test"])
    assert overlapping.status_code == 400 and _code(overlapping) == "60347"
    assert "overlap" in overlapping.json()["errorList"]["error"][0]["errorMessage"]
    other_set = api.run_link_job(seed.SETS["unlinked"])  # another set too: any running instance of the job
    assert other_set.status_code == 400 and _code(other_set) == "60347"
    assert api.post("/conf/jobs/M28", {"parameter": [{"name": {"value": "set_id"}, "value": seed.SETS["unlinked"]}]},
                    op="run").status_code == 200  # another job runs


def test_sixth_run_in_an_hour_refused():
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.05) as sim:
        api = Api(sim)
        for _ in range(5):
            r = api.run_link_job(seed.SETS["empty"])
            assert r.status_code == 200
            api.wait_for(r.json()["additional_info"]["link"])
        sixth = api.run_link_job(seed.SETS["empty"])
        assert sixth.status_code == 400 and _code(sixth) == JOB_HOURLY_LIMIT == "402223"
        # another job has its own count
        other = api.post("/conf/jobs/M28", {"parameter": [{"name": {"value": "set_id"},
                                                          "value": seed.SETS["empty"]}]}, op="run")
        assert other.status_code == 200
        sim.state.job_limits.window_seconds = 0.0  # the hour has passed
        time.sleep(0.05)
        assert api.run_link_job(seed.SETS["empty"]).status_code == 200


def test_link_job_counts_a_record_it_cannot_read_as_failed(api, sim):
    """A member whose MARC no parser reads is reported failed and left unlinked (what Alma
    does is assumed: see link_one); the rest of the set links, and the record still reads."""
    from tests.alma.unreadable import add_unreadable_bib

    broken = add_unreadable_bib(sim.state, "Rivers of Oregon", "41234567")
    set_id = sim.state.make_set("Set with a broken record", [seed.CASES["unique"], broken]).id
    info = api.run_link_job(set_id).json()["additional_info"]
    last = api.wait_for(info["link"])[-1]
    c = counters(last)
    assert c["link_bib_to_nz.failed"] == 1 and c["link_bib_to_nz.linked"] == 1
    assert last["status"]["value"] == "COMPLETED_WARNING"
    assert sim.state.linked_nz_id_of(broken) is None
    assert api.get(f"/bibs/{broken}").status_code == 200
