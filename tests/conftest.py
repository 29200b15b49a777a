"""Shared fixtures: a real Alma simulator over HTTP on localhost, and clients for it."""

from __future__ import annotations

import pytest

from alma.client import AlmaClient
from alma.config import AlmaSettings
from alma.http import AlmaHttp
from alma.simulator import Simulator, seed

API_KEY = "sim-key-for-tests"


@pytest.fixture
def sim():
    """A fresh simulator with the sample catalogue; link jobs take about a second."""
    # seed: fault injection draws the same answers on every run
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.6, seed=1) as simulator:
        yield simulator


def settings_for(simulator: Simulator, **overrides) -> AlmaSettings:
    values = dict(
        api_key=API_KEY,
        api_url=simulator.base_url,
        nz_sru_url=simulator.sru_url,
        requests_per_second=20.0,
        timeout_seconds=5.0,
        max_retries=3,
        quota_floor=0,
    )
    values.update(overrides)
    return AlmaSettings(**values)


def client_for(simulator: Simulator, backoff: float = 0.01, **overrides) -> AlmaClient:
    """A client with quick backoff, so retry tests run in milliseconds."""
    settings = settings_for(simulator, **overrides)
    http = AlmaHttp(
        settings.api_key,
        requests_per_second=settings.requests_per_second,
        timeout_seconds=settings.timeout_seconds,
        max_retries=settings.max_retries,
        backoff_factor=backoff,
        quota_floor=settings.quota_floor,
    )
    return AlmaClient(settings, http)


@pytest.fixture
def client(sim):
    alma = client_for(sim)
    yield alma
    alma.close()
