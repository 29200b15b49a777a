"""Alma's JOB_END webhook, on /alma/webhook beside /slack/events (HTTP mode only: Socket
Mode has no HTTP server, and polls alone).

A run nzbot started or follows is reported within seconds of Alma's call: the webhook asks
its member for a link-jobs round at once (`LinkJobs.tick`, the poll's own path), on the
member's workers after the answer. Polling stays the fallback, and the report is still
posted once: rounds run one at a time, and each report is claimed before it is posted.

- GET `?challenge=X`: `{"challenge": "X"}` (Alma checks the listener when the profile is
  saved; Ex Libris, "Anatomy of a Webhook",
  https://developers.exlibrisgroup.com/alma/integrations/webhooks/anatomy/).
- POST: refused with 401 unless `X-Exl-Signature` is the body's signature with
  NZBOT_ALMA_WEBHOOK_SECRET; 400 for a body that is no JSON object; 200 for everything else,
  an event nzbot has nothing to do with included (another action, an institution of no
  member, a run nzbot neither started nor follows), so Alma does not send it again.

Bodies and signatures are never logged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from alma.webhooks import BadWebhook, JobEnd, read_event, signed
from bot.services import Services

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/alma/webhook"
_SHOWN = 40  # characters of an institution code or id that a log line shows


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


class AlmaWebhook:
    """Answers Alma's webhook calls for the bot whose services it is given."""

    def __init__(self, services: Services, secret: str) -> None:
        self.services = services
        self._secret = secret

    def challenge(self, query: str) -> Answer:
        """Alma's unsigned handshake, answered as documented: the challenge echoed as JSON."""
        challenge = parse_qs(query).get("challenge", [""])[0]
        if not challenge:
            return Answer(400, "challenge missing")
        return Answer(200, json.dumps({"challenge": challenge}), "application/json")

    def event(self, body: bytes, signature: str) -> Answer:
        """A webhook Alma posted: checked, read, and a JOB_END of ours acted on."""
        if not signed(body, self._secret, signature):
            log.warning("Alma webhook refused: its signature is not NZBOT_ALMA_WEBHOOK_SECRET's")
            return Answer(401, "unauthorized")
        try:
            event = read_event(body)
        except BadWebhook as exc:  # signed, yet not what Alma sends: said, never a traceback
            log.warning("Alma webhook refused: %s", exc)
            return Answer(400, "bad request")
        if event is not None:
            self._job_ended(event)
        return Answer(200, "ok")

    def _job_ended(self, event: JobEnd) -> None:
        member = self.services.member_for_institution(event.institution)
        if member is None:
            log.info("Alma webhook ignored: JOB_END from institution %r, which is no member",
                     event.institution[:_SHOWN])
            return
        if not member.link_jobs.watches(event.job_id, event.instance_id):
            log.info("Alma webhook ignored: JOB_END of job %r instance %r, a run nzbot neither "
                     "started nor follows", event.job_id[:_SHOWN], event.instance_id[:_SHOWN])
            return
        log.info("Alma webhook: job %s instance %s ended (%s); checking it now",
                 event.job_id, event.instance_id, event.status[:_SHOWN] or "no status")
        self.services.for_member(member).later(member.link_jobs.tick)
