"""Fixtures: a running simulator with the sample catalogue, and a small JSON API helper."""

from __future__ import annotations

import time

import pytest
import requests

from alma.simulator import Simulator, seed

API_KEY = "sim-key"
FINISHED = ("COMPLETED_SUCCESS", "COMPLETED_WARNING", "COMPLETED_FAILED", "COMPLETED_NO_BULKS")


def printed_settings(stdout) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """What `nzbot simulator` printed, read up to "Press Ctrl-C": its `export NAME=value`
    lines as a mapping (a comment after the value dropped), and each sample set's (id, name)."""
    exports: dict[str, str] = {}
    sets: list[tuple[str, str]] = []
    for _ in range(60):
        line = stdout.readline()
        if not line or line.startswith("Press Ctrl-C"):
            break
        if line.startswith("export "):
            name, value = line.removeprefix("export ").split("#", 1)[0].strip().split("=", 1)
            exports[name] = value
        elif line.startswith("  ") and line.strip()[:1].isdigit():
            set_id, name = line.strip().split("  ", 1)
            sets.append((set_id, name.rsplit(", ", 1)[0]))
    return exports, sets


class Api:
    """requests against the simulator's REST API, as a client would send them."""

    def __init__(self, sim: Simulator, key: str = API_KEY, accept: str = "application/json"):
        self.sim = sim
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"apikey {key}", "Accept": accept})

    def url(self, path: str) -> str:
        return f"{self.sim.base_url}/almaws/v1{path}"

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(self.url(path), params=params, timeout=10)

    def post(self, path: str, body=None, **params) -> requests.Response:
        return self.http.post(self.url(path), json=body, params=params, timeout=10)

    def run_link_job(self, set_id: str, **extra: str) -> requests.Response:
        params = {
            "set_id": set_id,
            "non_serial_match_profile": "com.exlibris.repository.mms.match.uniqueOCLC",
            "serial_match_profile": "com.exlibris.repository.mms.match.uniqueOCLC",
            "non_serial_match_prefix": "",
            "serial_match_prefix": "",
            "ignoreResourceType": "false",
            "contribute_nz": "false",
            **extra,
        }
        body = {"parameter": [{"name": {"value": k}, "value": v} for k, v in params.items()]}
        return self.post(f"/conf/jobs/{self.sim.state.link_job_id}", body, op="run")

    def wait_for(self, instance_link: str, timeout: float = 15.0) -> list[dict]:
        """Poll an instance until it finishes; returns every state seen (for progress checks)."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            doc = self.http.get(instance_link, timeout=10).json()
            seen.append(doc)
            if doc["status"]["value"] in FINISHED:
                return seen
            time.sleep(0.08)
        raise AssertionError(f"job did not finish: {seen[-1]}")


@pytest.fixture
def sim():
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.4, seed=1) as s:
        yield s


@pytest.fixture
def api(sim) -> Api:
    return Api(sim)


def counters(instance: dict) -> dict[str, int]:
    return {c["type"]["value"]: int(c["value"]) for c in instance["counter"]}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slower tests that still run by default")
