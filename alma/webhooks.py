"""Alma's webhooks, as far as nzbot uses them: the JOB_END event, signed with the secret
of the Webhooks integration profile.

What Alma sends (docs/alma.md, "The JOB_END webhook"):

- a GET `?challenge=X` when the profile is saved, unsigned, answered with
  `{"challenge": "X"}` (Ex Libris Developer Network, "Anatomy of a Webhook",
  https://developers.exlibrisgroup.com/alma/integrations/webhooks/anatomy/);
- a POST per event, its header `X-Exl-Signature` the Base64 HMAC-SHA256 of the whole body
  with the profile's secret (same page; the public test vector of
  MITLibraries/alma-webhook-lambdas, tests/conftest.py, checks our reading), a JSON body
  with `id`, `action`, `institution` {value, desc}, `time` and, for JOB_END, `job_instance`
  in the shape of GET /conf/jobs/{id}/instances/{iid} (its `id`, `job_info` {id},
  `status` {value}, `counter`) (Ex Libris, "Webhooks: Events", JOB_END -> rest_job_instance,
  and webhook.xsd, https://developers.exlibrisgroup.com/alma/apis/docs/xsd/webhook.xsd/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Exl-Signature"
JOB_END = "JOB_END"


class BadWebhook(ValueError):
    """A body that is not a webhook Alma could have sent (not JSON, not an object)."""


@dataclass(frozen=True)
class JobEnd:
    """One JOB_END event: which institution's run of which job ended, and how."""

    institution: str  # the institution code, e.g. 01ALLIANCE_UO
    job_id: str  # the job's id, e.g. M85
    instance_id: str
    status: str  # COMPLETED_SUCCESS, COMPLETED_WARNING, ...


def sign(body: bytes, secret: str) -> str:
    """X-Exl-Signature of `body`: Base64 of its HMAC-SHA256 with the profile's secret."""
    return base64.b64encode(hmac.digest(secret.encode("utf-8"), body, hashlib.sha256)).decode("ascii")


def signed(body: bytes, secret: str, signature: str) -> bool:
    """Whether `signature` is Alma's for `body`; compared in constant time, so a caller
    cannot learn the expected value byte by byte from how long a refusal takes."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(body, secret).encode("ascii"), signature.strip().encode("utf-8", "replace"))


def read_event(body: bytes) -> JobEnd | None:
    """The JOB_END event in a webhook's body; None for any other action (Alma sends them
    all to the one listener). Raises BadWebhook when the body is no JSON object."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadWebhook("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadWebhook("the body is not a JSON object")
    # The anatomy page writes "job_end", Alma's payloads "JOB_END": either is one action.
    if str(data.get("action") or "").upper() != JOB_END:
        return None
    instance = _object(data.get("job_instance"))
    return JobEnd(
        institution=_value(data.get("institution")),
        job_id=str(_object(instance.get("job_info")).get("id") or ""),
        instance_id=str(instance.get("id") or ""),
        status=_value(instance.get("status")),
    )


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _value(field: object) -> str:
    """Alma's {value, desc} pair's value (or a bare string, as some payloads give it)."""
    if isinstance(field, dict):
        return str(field.get("value") or "")
    return str(field or "") if isinstance(field, (str, int)) else ""
