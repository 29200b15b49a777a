"""What every request goes through: API key, per-second limit, daily quota, faults, counting."""

from __future__ import annotations

import time
import pytest
import requests

from alma.simulator import seed

from .conftest import Api


def test_bad_or_missing_key_is_401(sim, api):
    for key_api in (Api(sim, key="wrong"),):
        r = key_api.get(f"/bibs/{seed.CASES['unique']}")
        assert r.status_code == 401
        err = r.json()["errorList"]["error"][0]
        assert err["errorCode"] == "UNAUTHORIZED"
        assert err["errorMessage"] == "API-key not defined or not configured to allow this API."
    r = requests.get(f"{sim.base_url}/almaws/v1/bibs/{seed.CASES['unique']}")  # no key, no Accept
    assert r.status_code == 401 and "<errorCode>UNAUTHORIZED</errorCode>" in r.text  # XML body
    r = requests.get(f"{sim.base_url}/almaws/v1/bibs/{seed.CASES['unique']}",
                     params={"apikey": "sim-key", "format": "json"})
    assert r.status_code == 200 and r.json()["mms_id"] == seed.CASES["unique"]


def test_per_second_limit(sim, api):
    url = api.url(f"/bibs/{seed.CASES['unique']}")
    start = time.monotonic()
    codes = [api.http.get(url).status_code for _ in range(30)]
    if time.monotonic() - start < 0.9:  # all inside one window (keep-alive makes this quick)
        assert codes == [200] * 25 + [429] * 5
    else:
        assert 429 in codes
    limited = api.get(f"/bibs/{seed.CASES['unique']}")
    assert limited.status_code == 429
    err = limited.json()["errorList"]["error"][0]
    assert err["errorCode"] == "PER_SECOND_THRESHOLD"
    assert err["errorMessage"] == "HTTP requests are more than allowed per second"
    time.sleep(1.05)  # the window slides on
    assert api.get(f"/bibs/{seed.CASES['unique']}").status_code == 200


def test_per_second_limit_override(sim, api):
    sim.faults.per_second_limit = 3
    codes = [api.get(f"/bibs/{seed.CASES['unique']}").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]


def test_quota_header_and_daily_threshold(sim, api):
    sim.state.quota_remaining = 3
    remaining = [int(api.get(f"/bibs/{seed.CASES['unique']}").headers["X-Exl-Api-Remaining"])
                 for _ in range(3)]
    assert remaining == [2, 1, 0]
    r = api.get(f"/bibs/{seed.CASES['unique']}")
    assert r.status_code == 429 and r.json()["errorList"]["error"][0]["errorCode"] == "DAILY_THRESHOLD"
    assert r.headers["X-Exl-Api-Remaining"] == "0"


def test_latency_fault(sim, api):
    sim.faults.latency = 0.3
    start = time.monotonic()
    assert api.get(f"/bibs/{seed.CASES['unique']}").status_code == 200
    assert time.monotonic() - start >= 0.3


def test_error_rate_fault(sim, api):
    sim.faults.error_rate = 1.0
    r = api.get(f"/bibs/{seed.CASES['unique']}")
    assert r.status_code in (500, 503) and r.json()["errorsExist"] is True
    assert requests.get(sim.sru_url, params={"query": "alma.mms_id=1"}).status_code in (500, 503)
    sim.faults.error_rate = 0.5
    codes = [api.get(f"/bibs/{seed.CASES['unique']}").status_code for _ in range(20)]
    assert 200 in codes and any(c >= 500 for c in codes)


def test_drop_fault(sim, api):
    sim.faults.drop_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        requests.get(api.url(f"/bibs/{seed.CASES['unique']}"), headers=api.http.headers, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(sim.sru_url, params={"query": "alma.mms_id=1"}, timeout=5)
    sim.faults.drop_rate = 0.0
    assert api.get(f"/bibs/{seed.CASES['unique']}").status_code == 200


def test_call_counting(sim, api):
    sim.reset_calls()
    api.get("/bibs", mms_id=seed.CASES["unique"])
    api.get(f"/bibs/{seed.CASES['unique']}")
    api.get(f"/bibs/{seed.CASES['multi']}")
    api.get(f"/conf/sets/{seed.SETS['unlinked']}/members", limit=5)
    requests.get(sim.sru_url, params={"query": "alma.mms_id=1"})
    assert sim.calls["GET /almaws/v1/bibs"] == 1
    assert sim.calls["GET /almaws/v1/bibs/{mms_id}"] == 2
    assert sim.calls["GET /almaws/v1/conf/sets/{set_id}/members"] == 1
    assert sim.calls["GET /view/sru"] == 1
    assert sim.total_calls == 5
    sim.reset_calls()
    assert sim.total_calls == 0
