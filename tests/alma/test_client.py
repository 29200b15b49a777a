"""The Alma client against the simulator, over real HTTP: batching, paging, retries,
errors, the limiter and the quota guard."""

from __future__ import annotations

import threading
import time

import pytest

from alma.client import AlmaClient
from alma.errors import (
    AlmaRequestError,
    AlmaServerError,
    AlmaUnavailable,
    BadInput,
    JobLimitReached,
    NotABibSet,
    QuotaTooLow,
    RecordNotFound,
    SetNotFound,
    SruError,
)
from alma.models import LinkJobParameters
from alma.simulator import Simulator, seed
from tests.conftest import API_KEY, client_for

CASES = seed.CASES
SETS = seed.SETS


def wait_for_instance(client: AlmaClient, run, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        instance = client.get_job_instance(run.job_id, run.instance_id)
        if instance.finished:
            return instance
        time.sleep(0.1)
    raise AssertionError("the link job did not finish")


@pytest.fixture(scope="module")
def big_sim():
    """250 generated records in one set, for batching and paging."""
    with Simulator(state=seed.generate_state(250, seed=3), api_key=API_KEY, job_seconds=0.3) as simulator:
        yield simulator


@pytest.fixture
def big_client(big_sim):
    big_sim.faults.latency = 0
    big_sim.reset_calls()
    alma = client_for(big_sim)
    yield alma
    alma.close()


# -- bibs ---------------------------------------------------------------------------------


def test_a_bib_reads_with_its_marc_link_and_network_numbers(client):
    linked = client.get_bib(CASES["already_linked"])
    assert linked.linked_nz_mms_id == seed.NZ_RECORDS["already_linked"]
    assert linked.record is not None and linked.record["245"]["a"].startswith("Mount Hood")
    assert any(n.startswith("(EXLNZ-") for n in linked.network_numbers)
    unlinked = client.get_bib(CASES["unique"])
    assert unlinked.linked_nz_mms_id is None
    assert "(OCoLC)41234567" in [f["a"] for f in unlinked.record.get_fields("035")]


def test_250_ids_take_three_calls_and_only_existing_records_come_back(big_sim, big_client):
    members = [m.id for m in big_client.set_members(big_client.find_set(seed.GENERATED_SET_NAME).id)]
    big_sim.reset_calls()
    wanted = members[:240] + ["9900000000006391"] * 10  # ten ids Alma doesn't have
    bibs = big_client.get_bibs(wanted)
    assert big_sim.calls["GET /almaws/v1/bibs"] == 3
    assert len(bibs) == 240
    assert {b.mms_id for b in bibs} == set(members[:240])
    assert all(b.record is not None for b in bibs)


def test_brief_view_drops_the_marc(client):
    (bib,) = client.get_bibs([CASES["unique"]], brief=True)
    assert bib.record is None and bib.title


def test_bib_linked_to_an_nz_record(client):
    found = client.get_bib_linked_to(seed.NZ_RECORDS["already_linked"])
    assert found is not None and found.mms_id == CASES["already_linked"]
    assert client.get_bib_linked_to(seed.NZ_RECORDS["unique"]) is None


def test_an_unknown_record_is_a_clear_error_carrying_almas_details(client):
    with pytest.raises(RecordNotFound) as caught:
        client.get_bib("9912345678906391")
    error = caught.value
    assert error.status == 400 and error.code == "402203"
    assert error.tracking_id and "9912345678906391" in str(error)


@pytest.mark.parametrize("bad", ["banana", "", "99 123", "-99123456", "99123456'; drop"])
def test_a_malformed_mms_id_is_refused_before_any_request(sim, client, bad):
    with pytest.raises(BadInput) as caught:
        client.get_bib(bad)
    assert "MMS ID" in str(caught.value)
    with pytest.raises(BadInput):
        client.get_bibs([CASES["unique"], bad])
    assert sim.total_calls == 0


def test_an_empty_id_list_is_refused_before_any_request(sim, client):
    with pytest.raises(BadInput, match="No MMS IDs"):
        client.get_bibs([])
    assert sim.total_calls == 0


def test_bib_update_goes_as_xml_and_errors_come_back_from_xml(sim, client):
    bib = client.get_bib(CASES["no_match"])
    bib.record["245"]["a"] = "Small farms of the Willamette Valley, revised"
    updated = client.update_bib(bib.mms_id, bib.record)
    assert updated.record["245"]["a"].startswith("Small farms of the Willamette Valley, revised")
    assert client.get_bib(bib.mms_id).record["245"]["a"].endswith("revised")
    with pytest.raises(AlmaRequestError) as caught:
        client.update_bib("9912345678906391", bib.record)  # the answer is Alma's XML error
    assert caught.value.code == "402203" and caught.value.tracking_id


# -- sets ---------------------------------------------------------------------------------


def test_a_set_by_id_and_by_exact_name(client):
    by_id = client.find_set(SETS["link_test"])
    by_name = client.find_set("Link job test set")
    assert by_id == by_name
    assert by_id.content == "BIB_MMS" and by_id.number_of_members == 9


def test_unknown_sets_and_sets_of_items_are_refused(sim, client):
    with pytest.raises(SetNotFound):
        client.find_set("99999999990006391")
    with pytest.raises(SetNotFound):
        client.find_set("No such set anywhere")
    with pytest.raises(NotABibSet, match="not bib records"):
        client.find_set(SETS["items"])
    calls = sim.total_calls
    with pytest.raises(BadInput):
        client.find_set("   ")
    assert sim.total_calls == calls


def test_members_are_read_100_at_a_time(big_sim, big_client):
    found = big_client.find_set(seed.GENERATED_SET_NAME)
    big_sim.reset_calls()
    members = list(big_client.set_members(found.id))
    assert len(members) == 250 and len({m.id for m in members}) == 250
    assert big_sim.calls["GET /almaws/v1/conf/sets/{set_id}/members"] == 3


def test_a_set_of_2500_records_is_created_in_1000s(big_sim, big_client):
    ids = [str(9_900_000_000_000_000 + i) for i in range(2500)]
    big_sim.reset_calls()
    created = big_client.create_set("nzbot test set", ids)
    assert created.content == "BIB_MMS" and created.type == "ITEMIZED"
    assert big_sim.calls["POST /almaws/v1/conf/sets"] == 1
    assert big_sim.calls["POST /almaws/v1/conf/sets/{set_id}"] == 3
    # Alma drops ids it doesn't have (fail_on_invalid_id=false); real records stay
    real = [m.id for m in big_client.set_members(big_client.find_set(seed.GENERATED_SET_NAME).id)][:3]
    replaced = big_client.replace_set_members(created.id, real)
    assert replaced.number_of_members == 3
    assert [m.id for m in big_client.set_members(created.id)] == real


# -- jobs ---------------------------------------------------------------------------------


def test_the_link_job_is_found_by_name_or_taken_from_the_setting(sim, client):
    assert client.find_link_job().id == seed.LINK_JOB_ID
    direct = client_for(sim, link_job_id=seed.LINK_JOB_ID)
    sim.reset_calls()
    assert direct.find_link_job().name == "Link a set of records to the Network Zone"
    assert sim.calls["GET /almaws/v1/conf/jobs"] == 0


def test_running_the_link_job_links_records_and_reports_counters(sim, client):
    run = client.run_link_job(LinkJobParameters(set_id=SETS["link_test"]))
    instance = wait_for_instance(client, run)
    assert instance.status in ("COMPLETED_SUCCESS", "COMPLETED_WARNING")
    counters = {c.key: c.value for c in instance.counters}
    assert counters["link_bib_to_nz.linked"] >= 4
    assert counters["link_bib_to_nz.multi_match"] == 1
    assert client.get_bib(CASES["unique"]).linked_nz_mms_id == seed.NZ_RECORDS["unique"]
    assert client.get_bib(CASES["multi"]).linked_nz_mms_id is None
    since = client.list_job_instances(run.job_id, since=__import__("datetime").date.today())
    assert run.instance_id in [i.id for i in since]


def test_a_fourth_concurrent_job_is_refused_with_a_typed_error(sim, client):
    sim.job_seconds = 5
    # Three different jobs: a second run of one job would overlap its first (60347, also
    # JobLimitReached), whatever its set.
    client.run_link_job(LinkJobParameters(set_id=SETS["link_test"]))
    with pytest.raises(JobLimitReached) as overlapping:
        client.run_link_job(LinkJobParameters(set_id=SETS["unlinked"]))
    assert overlapping.value.code == "60347"
    client.run_job("M28", {"set_id": SETS["unlinked"]})
    client.run_job("M44", {"set_id": SETS["items"]})
    with pytest.raises(JobLimitReached) as caught:
        client.run_job("M26", {"set_id": SETS["empty"]})
    assert caught.value.code == "402222"


# -- retries, faults and limits -----------------------------------------------------------


def test_5xx_answers_are_retried_until_they_pass(sim):
    client = client_for(sim, max_retries=8)
    sim.faults.error_rate = 0.3
    for _ in range(10):
        assert client.get_bib(CASES["unique"]).mms_id == CASES["unique"]
    assert sim.calls["GET /almaws/v1/bibs/{mms_id}"] > 10


def test_retries_are_bounded_and_end_in_a_typed_error(sim):
    alma = client_for(sim, max_retries=3)
    sim.faults.error_rate = 1.0
    with pytest.raises(AlmaServerError) as caught:
        alma.get_bib(CASES["unique"])
    assert caught.value.status in (500, 503)
    assert sim.calls["GET /almaws/v1/bibs/{mms_id}"] == 4  # one try and three retries


def test_a_400_is_never_retried(sim, client):
    with pytest.raises(RecordNotFound):
        client.get_bib("9912345678906391")
    assert sim.calls["GET /almaws/v1/bibs/{mms_id}"] == 1


def test_a_job_run_is_never_repeated_after_a_5xx(sim, client):
    sim.faults.error_rate = 1.0
    with pytest.raises(AlmaServerError):
        client.run_job(seed.LINK_JOB_ID, LinkJobParameters(set_id=SETS["link_test"]).as_alma_parameters())
    assert sim.calls["POST /almaws/v1/conf/jobs/{job_id}"] == 1


def test_429_per_second_threshold_is_retried(sim):
    sim.faults.per_second_limit = 5
    alma = client_for(sim, backoff=0.3, max_retries=6)
    alma.http.limiter.interval = 0.0  # a client that ignores the pace, to provoke Alma
    errors = []

    def read() -> None:
        try:
            alma.get_bib(CASES["unique"])
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = sim.calls["GET /almaws/v1/bibs/{mms_id}"]
    assert not errors
    assert calls > 12  # some were answered 429 and tried again


def test_dropped_connections_are_retried_then_reported(sim):
    alma = client_for(sim, max_retries=2)
    sim.faults.drop_rate = 1.0
    with pytest.raises(AlmaUnavailable, match="could not be reached"):
        alma.get_bib(CASES["unique"])
    assert sim.calls["GET /almaws/v1/bibs/{mms_id}"] == 3
    sim.faults.drop_rate = 0.3
    alma = client_for(sim, max_retries=8)
    for _ in range(5):
        assert alma.get_bib(CASES["unique"]).mms_id == CASES["unique"]


def test_a_slow_alma_times_out(sim):
    alma = client_for(sim, timeout_seconds=0.3, max_retries=0)
    sim.faults.latency = 3.0
    started = time.monotonic()
    with pytest.raises(AlmaUnavailable, match="did not answer"):
        alma.get_bib(CASES["unique"])
    assert time.monotonic() - started < 2.5  # gave up long before Alma's answer


def test_the_limiter_paces_all_threads_together(sim):
    alma = client_for(sim, requests_per_second=20.0)
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [alma.get_bib(CASES["unique"]) for _ in range(10)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert sim.calls["GET /almaws/v1/bibs/{mms_id}"] == 40  # no 429 retries were needed
    assert elapsed >= 39 / 20 - 0.05


def test_background_work_stops_when_the_daily_quota_runs_low(sim):
    alma = client_for(sim, quota_floor=1000)
    sim.state.quota_remaining = 500
    alma.get_bib(CASES["unique"])  # a person's request still goes through
    assert alma.http.quota.remaining == 499
    calls = sim.total_calls
    with pytest.raises(QuotaTooLow, match="499"):
        alma.for_background().get_bib(CASES["unique"])
    assert sim.total_calls == calls


def test_a_wrong_api_key_is_refused(sim):
    alma = client_for(sim, api_key="not-the-key")
    with pytest.raises(AlmaRequestError) as caught:
        alma.get_bib(CASES["unique"])
    assert caught.value.status == 401


# -- SRU ----------------------------------------------------------------------------------


def test_sru_finds_nz_records_by_oclc_number_in_a_and_z(client):
    records = list(client.nz_records_with_oclc(["41234567", "75555555"]))
    ids = {r["001"].data for r in records}
    assert ids == {seed.NZ_RECORDS["unique"], seed.NZ_RECORDS["cancelled_in_nz"]}


def test_sru_pages_past_50_records(big_sim, big_client):
    numbers = [str(20_000_000 + i) for i in range(120)]
    records = list(big_client.nz_records_with_oclc(numbers))
    assert len(records) > 50
    assert big_sim.calls["GET /view/sru"] >= 3  # two queries of 100 and 20 terms, paged at 50
    assert len({r["001"].data for r in records}) == len(records)


def test_sru_diagnostics_become_errors(client):
    with pytest.raises(SruError, match="NZ search failed"):
        list(client.sru_search("alma.no_such_index=1"))


def test_sru_needs_its_setting(sim):
    alma = client_for(sim, nz_sru_url="")
    with pytest.raises(BadInput, match="ALMA_NZ_SRU_URL"):
        alma.sru_page("alma.mms_id=1")


def test_a_refused_connection_is_not_called_a_timeout(sim):
    alma = client_for(sim, max_retries=1, api_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(AlmaUnavailable, match="connection was refused"):
        alma.get_bib(CASES["unique"])


def test_a_job_instances_progress_with_decimals_is_read():
    """Alma gives a running instance's progress as a decimal string ("50.776")."""
    from alma.client import instance_from_json

    def progress(value):
        return instance_from_json({"id": "1", "status": {"value": "RUNNING"}, "progress": value}, "M85").progress

    assert progress("50.776") == 50 and progress(100) == 100 and progress("0") == 0
    assert progress("nonsense") == 0 and progress("250.5") == 100 and progress(None) == 0


def test_a_pass_over_many_records_leaves_a_linked_records_marc_unread(client):
    """After a link job most of a set is linked, and a pass over it only counts those as
    linked (issue 24: reading their MARC was most of a consortium bot's CPU)."""
    ids = [CASES["already_linked"], CASES["unique"]]
    read = {b.mms_id: b for b in client.get_bibs(ids)}
    brief = {b.mms_id: b for b in client.get_bibs(ids, linked_marc=False)}
    linked, unlinked = CASES["already_linked"], CASES["unique"]
    assert read[linked].record is not None and brief[linked].record is None
    assert brief[linked].linked_nz_mms_id == read[linked].linked_nz_mms_id is not None
    assert brief[linked].unreadable is None and brief[linked].title == read[linked].title
    assert brief[unlinked].record is not None  # an unlinked record is read as ever
