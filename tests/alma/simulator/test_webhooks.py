"""The simulator's JOB_END webhook: off unless asked; once on, each job instance that ends
is POSTed to the listener in Alma's shape, signed as Alma signs it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alma.simulator import consortium, member_key, seed

from .conftest import API_KEY, Api

SECRET = "profile-secret-1"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Listener:
    """A webhook listener on 127.0.0.1 that keeps what it is sent and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.received.put(Received(self.path, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alma/webhook"

    def next(self, timeout: float = 10.0) -> Received:
        return self.received.get(timeout=timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.stop()


def run_and_wait(api: Api, set_key: str = "link_test") -> dict:
    answer = api.run_link_job(seed.SETS[set_key])
    assert answer.status_code == 200, answer.text
    return api.wait_for(answer.json()["additional_info"]["link"])[-1]


def test_no_webhook_is_sent_unless_asked(api, sim, listener):
    run_and_wait(api)
    with pytest.raises(queue.Empty):
        listener.next(timeout=0.5)
    assert sim.state.webhook is None


def test_a_job_instance_that_ends_is_posted_in_almas_shape_and_signed(api, sim, listener):
    sim.send_webhooks(listener.url, SECRET)
    instance = run_and_wait(api)
    sent = listener.next()
    assert sent.path == "/alma/webhook" and sent.headers["Content-Type"] == "application/json"
    expected = base64.b64encode(hmac.new(SECRET.encode(), sent.body, hashlib.sha256).digest()).decode()
    assert sent.headers["X-Exl-Signature"] == expected
    body = json.loads(sent.body)
    assert body["action"] == "JOB_END" and body["id"].isdigit() and body["time"].endswith("Z")
    assert body["institution"]["value"] == sim.state.institution_code == "01SIM_INST"
    job = body["job_instance"]
    # the instance as GET /conf/jobs/{id}/instances/{iid} shows it once ended
    assert job["id"] == instance["id"] and job["job_info"]["id"] == "M85"
    assert job["status"] == instance["status"] and job["status"]["value"] == "COMPLETED_WARNING"
    assert job["counter"] == instance["counter"] and job["end_time"] == instance["end_time"]
    assert sim.state.webhook.deliveries[-1].status == 200
    assert sim.state.webhook.deliveries[-1].body == sent.body


def test_a_run_started_in_almas_ui_is_posted_too(sim, listener):
    sim.send_webhooks(listener.url, SECRET)
    run = sim.state.start_job_from_ui("M85", {"set_id": seed.SETS["link_test"]})
    body = json.loads(listener.next().body)
    assert body["job_instance"]["id"] == run.id
    assert body["job_instance"]["submitted_by"]["value"] == "jsmith"


def test_each_member_names_its_own_institution():
    with consortium(2, api_key=API_KEY, job_seconds=0.1) as sim:
        found = Listener()
        try:
            sim.send_webhooks(found.url, SECRET)
            second = sim.zones[member_key(API_KEY, 2)]
            run = second.state.start_job_from_ui("M85", {"set_id": next(iter(second.state.sets))})
            body = json.loads(found.next().body)
            assert body["institution"]["value"] == second.state.institution_code == "01SIM_INST2"
            assert body["job_instance"]["id"] == run.id
        finally:
            found.stop()


def test_a_listener_that_is_down_is_recorded_and_the_run_still_ends(api, sim, listener):
    url = listener.url
    listener.stop()  # nothing listens there now
    sim.send_webhooks(url, SECRET)
    instance = run_and_wait(api)
    assert instance["status"]["value"] == "COMPLETED_WARNING"
    deliveries = sim.state.webhook.deliveries
    for _ in range(100):  # sent just after the run ended: wait for it a little
        if deliveries:
            break
        threading.Event().wait(0.05)
    assert [d.status for d in deliveries] == [0]
