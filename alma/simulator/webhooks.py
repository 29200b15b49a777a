"""Alma's JOB_END webhook, sent by the simulator when a job instance ends (off unless
`Simulator.send_webhooks(url, secret)` turns it on, as a Webhooks integration profile
subscribed to "Job end" does in Alma).

The body is the webhook object of Alma's webhook.xsd (id, action, institution, time,
job_instance as GET /conf/jobs/{id}/instances/{iid} answers it), signed as Alma signs it:
`X-Exl-Signature`, the Base64 HMAC-SHA256 of the body with the profile's secret
(alma/webhooks.py names the sources). Alma gives a listener 5 seconds; a delivery that
fails is recorded, not retried (Alma's next try would come an hour later).
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from alma.webhooks import JOB_END, SIGNATURE_HEADER, sign

from . import payloads as P

if TYPE_CHECKING:
    from .state import JobRun, State

ALMA_TIMEOUT_SECONDS = 5.0  # Alma's own limit for a listener's answer
_IDS = itertools.count(6_241_574_698_584_934_000)  # webhook ids, Alma-like numbers


@dataclass
class Delivery:
    """One webhook sent: its body as sent, and the listener's status (0: no answer)."""

    body: bytes
    status: int


@dataclass
class WebhookProfile:
    """A Webhooks integration profile: where JOB_END goes and the secret that signs it."""

    url: str
    secret: str = field(repr=False)
    base_url: str  # the simulator's, for the links inside job_instance
    deliveries: list[Delivery] = field(default_factory=list)


def job_end_body(state: "State", run: "JobRun", base_url: str) -> bytes:
    """The JOB_END webhook for `run`, as Alma sends it."""
    with state.lock:
        job = state.jobs[run.job_id]
        payload = {
            "id": str(next(_IDS)),
            "action": JOB_END,
            "institution": {"value": state.institution_code, "desc": state.institution_code},
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "job_instance": P.run_json(run, job, base_url, state.answers.counter_key_prefix),
        }
    return json.dumps(payload).encode("utf-8")


def job_ended(state: "State", run: "JobRun") -> None:
    """Sends the JOB_END webhook of `run` when the state's institution has a profile."""
    profile = state.webhook
    if profile is None:
        return
    body = job_end_body(state, run, profile.base_url)
    request = urllib.request.Request(profile.url, data=body, method="POST", headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign(body, profile.secret)})
    try:
        with urllib.request.urlopen(request, timeout=ALMA_TIMEOUT_SECONDS) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError):  # refused, timed out, no listener: as Alma, recorded only
        status = 0
    profile.deliveries.append(Delivery(body, status))
