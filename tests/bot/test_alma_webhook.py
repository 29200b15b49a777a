"""Alma's JOB_END webhook over HTTP, on /alma/webhook beside /slack/events: the challenge,
the signature, a job's end reported within seconds of Alma's call however long the poll
interval, one report when the webhook and the poll race, and the calls nzbot has nothing
to do with (another job, another institution) changing nothing."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest
import requests

from alma.simulator import consortium, member_key, seed
from alma.simulator.webhooks import job_end_body
from alma.webhooks import sign
from tests.bot.conftest import BOT_TOKEN, PM
from tests.bot.test_consortium import OSU_CATALOGER, OSU_CHANNEL, UO_CATALOGER, UO_CHANNEL, ConsortiumHarness
from tests.bot.test_link_jobs import REPORT_EVENT, reports
from tests.conftest import API_KEY
from tests.slack.faults import SlackStub

WEBHOOK_SECRET = "alma-profile-secret"
NEVER = 3600.0  # a poll interval no test waits out: only the webhook can report in time
SOON = 3.0  # how long a test waits to see that nothing happens
# A report this soon after the job's end can only be the webhook's: the next poll is an hour
# away. About a second on an idle machine; the bound leaves room for a loaded CI machine.
IN_TIME = 30.0


def webhook_url(harness) -> str:
    return f"http://127.0.0.1:{harness.server.port}/alma/webhook"


def post(harness, body: bytes, signature: str | None = None) -> requests.Response:
    signature = sign(body, WEBHOOK_SECRET) if signature is None else signature
    return requests.post(webhook_url(harness), data=body, timeout=10,
                         headers={"Content-Type": "application/json", "X-Exl-Signature": signature})


def start_with_webhook(harness, *, poll_seconds: float = NEVER, alma_sends: bool = True):
    harness.overrides.update(alma_webhook_secret=WEBHOOK_SECRET, poll_seconds=poll_seconds,
                             discover_seconds=NEVER)
    harness.start()
    if alma_sends:
        harness.sim.send_webhooks(webhook_url(harness), WEBHOOK_SECRET)
    return harness


def link_and_wait_for_alma(harness, set_id: str | None = None, **command):
    """Starts `/nz link` and waits until Alma's run has ended; returns (the job row, the run)."""
    harness.command(f"link {set_id or seed.SETS['link_test']}", **command)
    job = harness.wait(lambda: next(iter(harness.store.link_jobs("running")), None), what="the run started")
    run = harness.wait(lambda: (r := harness.sim.state.runs.get(job.instance_id)) and r.end_time and r,
                       what="Alma's run to end")
    return job, run


def seconds_since(when: datetime) -> float:
    return (datetime.now(timezone.utc) - when).total_seconds()


# -- the handshake ------------------------------------------------------------------------


def test_the_challenge_is_echoed_as_almas_documentation_shows(harness):
    start_with_webhook(harness, alma_sends=False)
    answer = requests.get(webhook_url(harness), params={"challenge": "1234 abc"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"challenge": "1234 abc"}
    assert requests.get(webhook_url(harness), timeout=10).status_code == 400  # no challenge


def test_without_the_secret_there_is_no_webhook_endpoint(harness):
    harness.start()
    assert requests.get(webhook_url(harness), params={"challenge": "x"}, timeout=10).status_code == 404
    assert post(harness, b'{"action": "JOB_END"}').status_code == 404


# -- a job's end, reported at once --------------------------------------------------------


def test_a_jobs_end_is_reported_within_seconds_of_the_webhook_whatever_the_poll_interval(harness):
    start_with_webhook(harness)
    job, run = link_and_wait_for_alma(harness)
    harness.wait(lambda: reports(harness), timeout=IN_TIME, what="the report")
    reported = harness.store.link_job(job.id)
    assert reported.state == "reported"
    assert seconds_since(run.end_time) < IN_TIME and len(reports(harness)) == 1
    delivery = harness.sim.state.webhook.deliveries[0]
    assert delivery.status == 200 and json.loads(delivery.body)["job_instance"]["id"] == job.instance_id
    ended = datetime.fromisoformat(reported.reported_at.replace("Z", "+00:00"))
    assert (ended - run.end_time).total_seconds() < IN_TIME


def test_without_alma_s_webhook_the_same_job_waits_for_the_poll(harness):
    # The control of the test above: nothing else reports the job in that time.
    start_with_webhook(harness, alma_sends=False)
    job, _ = link_and_wait_for_alma(harness)
    time.sleep(SOON)
    assert harness.store.link_job(job.id).state == "running" and reports(harness) == []


def test_the_webhook_and_the_poll_racing_post_one_report(harness):
    # The first round to claim the report is held looking in Slack for one already posted;
    # meanwhile the webhook's round and the poll's rounds come. Unguarded, another round
    # would see the claim, find nothing in Slack either, and post a second report.
    release = harness.stub.hold_answers("conversations.replies")
    start_with_webhook(harness, poll_seconds=0.2)
    job, _ = link_and_wait_for_alma(harness)
    harness.wait(lambda: harness.store.link_job(job.id).state == "reporting", what="the report claimed")
    harness.wait(lambda: harness.sim.state.webhook.deliveries, what="Alma's webhook")
    time.sleep(1.0)  # five poll rounds and the webhook's round, all waiting their turn
    release.set()
    harness.wait(lambda: harness.store.link_job(job.id).state == "reported", what="the report")
    time.sleep(1.0)  # any second report would be posted by now
    assert len(reports(harness)) == 1
    assert [r["action"] for r in harness.store.audit_rows()].count("job_reported") == 1


# -- calls refused or ignored -------------------------------------------------------------


def test_a_bad_signature_is_refused_and_changes_nothing(harness, caplog):
    start_with_webhook(harness, alma_sends=False)
    job, run = link_and_wait_for_alma(harness)
    body = job_end_body(harness.sim.state, run, harness.sim.base_url)
    calls = dict(harness.sim.calls)
    for signature in ("", sign(body, "some-other-secret"), sign(body + b" ", WEBHOOK_SECRET)):
        assert post(harness, body, signature).status_code == 401
    time.sleep(SOON)
    assert harness.store.link_job(job.id).state == "running" and reports(harness) == []
    assert dict(harness.sim.calls) == calls  # not even Alma was asked
    assert WEBHOOK_SECRET not in caplog.text
    # Alma's own call, signed with the secret, is what reports it
    assert post(harness, body).status_code == 200
    harness.wait(lambda: reports(harness), timeout=IN_TIME, what="the report")


def test_a_job_nzbot_did_not_start_or_watch_is_ignored(harness, caplog):
    caplog.set_level(logging.INFO, logger="bot.alma_webhook")
    start_with_webhook(harness, alma_sends=False)
    job, run = link_and_wait_for_alma(harness)
    stranger = json.loads(job_end_body(harness.sim.state, run, harness.sim.base_url))
    stranger["job_instance"]["id"] = "8399999"
    body = json.dumps(stranger).encode()
    calls = dict(harness.sim.calls)
    assert post(harness, body).status_code == 200
    time.sleep(SOON)
    assert harness.store.link_job(job.id).state == "running" and reports(harness) == []
    assert dict(harness.sim.calls) == calls
    ignored = [r for r in caplog.records if r.name == "bot.alma_webhook" and "ignored" in r.getMessage()]
    assert [r.levelno for r in ignored] == [logging.INFO] and "8399999" in ignored[0].getMessage()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b"[" * 50_000])
def test_a_malformed_body_is_refused_without_a_traceback(harness, caplog, body):
    start_with_webhook(harness, alma_sends=False)
    answer = post(harness, body)
    assert answer.status_code == 400
    assert not [r for r in caplog.records if r.exc_info] and "Traceback" not in caplog.text
    assert requests.get(f"http://127.0.0.1:{harness.server.port}/health", timeout=10).text == "ok"


def test_another_action_is_answered_and_ignored(harness):
    start_with_webhook(harness, alma_sends=False)
    assert post(harness, json.dumps({"action": "USER", "webhook_user": {}}).encode()).status_code == 200


# -- consortium mode: the institution says which member ---------------------------------


class WebhookConsortium(ConsortiumHarness):
    """The consortium harness, its clocks and secret overridable (its own settings name the clocks)."""

    def settings(self):
        overrides, self.overrides = self.overrides, {}
        try:
            return replace(super().settings(), **overrides)
        finally:
            self.overrides = overrides


@pytest.fixture
def members(tmp_path):
    with consortium(2, api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        # Alma names each IZ by its institution code: here the members' codes in the config
        sim.state.institution_code = "01SIM_UO"
        sim.zones[member_key(API_KEY, 2)].state.institution_code = "01SIM_OSU"
        stub = SlackStub(
            bot_token=BOT_TOKEN,
            users={UO_CATALOGER: {"name": "uo.cataloger"}, OSU_CATALOGER: {"name": "osu.cataloger"},
                   PM: {"name": "program.manager"}},
            channels={UO_CHANNEL: {"name": "uo-nz"}, OSU_CHANNEL: {"name": "osu-nz"}},
        ).start()
        h = WebhookConsortium(sim=sim, stub=stub, db_path=tmp_path / "nzbot.db")
        try:
            yield h
        finally:
            h.stop()
            stub.stop()


def member_reports(harness, channel: str) -> list[dict]:
    return [m for m in harness.stub.messages(channel)
            if (m.get("metadata") or {}).get("event_type") == REPORT_EVENT]


def osu_link(harness, title: str, mms_id: str):
    """An OSU cataloger's `/nz link` on a new set of one OSU record; (the job row, Alma's run) once the run ended."""
    osu, store = harness.osu.state, harness.member_store("01SIM_OSU")
    known = {j.id for j in store.link_jobs()}
    harness.command(f"link {osu.make_set(title, [mms_id[:-5] + '06392']).id}", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    job = harness.wait(lambda: next((j for j in store.link_jobs("running") if j.id not in known), None),
                       what="OSU's run")
    run = harness.wait(lambda: (r := osu.runs.get(job.instance_id)) and r.end_time and r, what="OSU's run to end")
    return job, run


def test_a_members_job_end_reaches_that_member_and_an_unknown_institution_is_ignored(members):
    harness = start_with_webhook(members, alma_sends=False)
    store = members.member_store("01SIM_OSU")
    job, run = osu_link(harness, "OSU books", seed.CASES["unique"])
    payload = json.loads(job_end_body(members.osu.state, run, harness.sim.base_url))
    assert payload["institution"]["value"] == "01SIM_OSU"
    for stranger in ("01NOT_A_MEMBER", "01SIM_UO"):  # no member; a member that never ran it
        payload["institution"]["value"] = stranger
        assert post(harness, json.dumps(payload).encode()).status_code == 200
    time.sleep(SOON)
    assert store.link_job(job.id).state == "running"
    assert member_reports(harness, OSU_CHANNEL) == [] == member_reports(harness, UO_CHANNEL)
    # Alma's own call, sent by OSU's IZ when a run ends: OSU's report, in OSU's channel, at once
    harness.sim.send_webhooks(webhook_url(harness), WEBHOOK_SECRET)
    second, _ = osu_link(harness, "More OSU books", seed.CASES["unique_2"])
    harness.wait(lambda: store.link_job(second.id).state == "reported", timeout=IN_TIME, what="OSU's report")
    # the member's round the webhook asked for follows every run of that member: the first too
    assert store.link_job(job.id).state == "reported"
    assert len(member_reports(harness, OSU_CHANNEL)) == 2 and member_reports(harness, UO_CHANNEL) == []
    assert members.osu.state.webhook.deliveries[-1].status == 200


# -- the setting --------------------------------------------------------------------------


def test_the_secret_is_a_secret_scrubbed_from_logs_and_a_short_one_is_refused_by_name():
    from alma.config import SettingError
    from nzbot import redaction
    from nzbot.settings import BotSettings

    env = dict(ALMA_API_KEY="l7xx-long-enough-key", ALMA_NZ_SRU_URL="http://127.0.0.1:9/view/sru/X",
               SLACK_BOT_TOKEN="xoxb-123-456-abc", SLACK_SIGNING_SECRET="slack-signing-1",
               NZBOT_REPORT_CHANNEL="CREPORT01", NZBOT_PM_USERS="UPROGMGR1",
               NZBOT_ALMA_WEBHOOK_SECRET="alma-webhook-secret-77")
    settings = BotSettings.from_env(env)
    assert settings.alma_webhook_secret == "alma-webhook-secret-77"
    assert "alma-webhook-secret-77" in settings.secrets and "alma-webhook-secret-77" not in repr(settings)
    assert redaction.redact("Alma said: alma-webhook-secret-77") == "Alma said: [redacted]"
    assert BotSettings.from_env({**env, "NZBOT_ALMA_WEBHOOK_SECRET": ""}).alma_webhook_secret == ""
    with pytest.raises(SettingError) as refused:
        BotSettings.from_env({**env, "NZBOT_ALMA_WEBHOOK_SECRET": "q7Zx"})
    assert "NZBOT_ALMA_WEBHOOK_SECRET is too short" in str(refused.value) and "q7Zx" not in str(refused.value)
