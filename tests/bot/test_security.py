"""Security: Slack's signature is required on everything, only the Program Manager decides,
MARC text can never ping a channel or smuggle a link into any message the bot sends, and
no token or key ever reaches the bot's log, even through Alma and Slack errors."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from alma.simulator import Simulator, seed
from bot import action_ids as A
from bot.demo.slack_requests import (
    block_action_payload,
    interaction_body,
    post_signed,
    sign,
    signature,
    slash_command_body,
)
from tests.bot.conftest import CATALOGER, PM, REPORT, SECRET, block_text, click, review
from tests.bot.subprocess_bot import SubprocessBot, make_stub, reports, wait_until

LINK = f"{A.LINK_CANDIDATE}:1"


def snapshot(h) -> dict:
    return {
        "link_jobs": [(j.id, j.state) for j in h.store.link_jobs()],
        "cases": [(c.id, c.state, c.decision, c.chosen_nz_mms_id) for c in h.store.cases()],
        "alma_writes": sum(n for key, n in h.sim.calls.items() if key.split()[0] in ("POST", "PUT", "DELETE")),
        "links": {m: b.linked_nz_id for m, b in h.sim.state.iz.items()},
        "report_channel": len(h.stub.messages(REPORT)),
    }


def open_case(h, iz=None):
    case, _ = h.bot.services.cases.send_to_pm(iz or seed.CASES["multi_three"], CATALOGER)
    h.wait(lambda: h.store.case_messages(case.id), what="the case message")
    return case


# --------------------------------------------------------------------------- signatures

def _variants(body: str):
    now = int(time.time())
    good = sign(body, SECRET)
    return {
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong-secret": sign(body, "not-the-secret"),
        "stale": sign(body, SECRET, now - 6 * 60),
        "future": sign(body, SECRET, now + 6 * 60),
        "signature-of-another-body": {**good, "X-Slack-Signature": signature(body + "&x=1", SECRET, now)},
        "timestamp-swapped": {**good, "X-Slack-Request-Timestamp": str(now - 1)},
        "v1-scheme": {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
        "empty-signature": {**good, "X-Slack-Signature": ""},
        "timestamp-not-a-number": {**good, "X-Slack-Request-Timestamp": "soon"},
        "uppercase-hex": {**good, "X-Slack-Signature": "v0=" + good["X-Slack-Signature"][3:].upper()},
    }


VARIANTS = [v for v in _variants("x") if v != "timestamp-not-a-number"]


def forged_decision(harness, case, variant):
    name = f"forged{time.monotonic_ns()}"
    payload = block_action_payload(A.SKIP_CASE, str(case.id), user_id=PM, channel_id="DPROGMGR1",
                                   response_url=harness.stub.response_url(name))
    body = interaction_body(payload)
    headers = _variants(body)[variant]
    return requests.post(harness.server.url, data=body.encode(), headers=headers, timeout=10), name


def test_a_decision_without_a_valid_signature_gets_401_and_does_nothing(harness):
    harness.start()
    case = open_case(harness)
    before = snapshot(harness)
    answers = {variant: forged_decision(harness, case, variant) for variant in VARIANTS}
    time.sleep(0.5)
    assert {v: a.status_code for v, (a, _) in answers.items()} == {v: 401 for v in VARIANTS}
    for answer, name in answers.values():
        assert "case" not in answer.text.lower()
        assert harness.stub.responses(name) == []
    assert snapshot(harness) == before
    assert harness.store.case(case.id).state == "open"
    assert not [r for r in harness.store.audit_rows() if r["action"] == "case_skip"]


def test_a_non_numeric_timestamp_gets_401_not_500(harness):
    harness.start()
    case = open_case(harness)
    before = snapshot(harness)
    answer, name = forged_decision(harness, case, "timestamp-not-a-number")
    time.sleep(0.3)
    assert snapshot(harness) == before and harness.stub.responses(name) == []
    assert answer.status_code == 401


def test_a_400_digit_timestamp_gets_401_not_500(harness, caplog):
    """A timestamp of 400 digits, correctly signed: float() of it overflowed in the
    verifier, and the bot answered 500 with a traceback."""
    harness.start()
    case = open_case(harness)
    before = snapshot(harness)
    name = f"huge-ts{time.monotonic_ns()}"
    body = interaction_body(block_action_payload(A.SKIP_CASE, str(case.id), user_id=PM, channel_id="DPROGMGR1",
                                                 response_url=harness.stub.response_url(name)))
    timestamp = "9" * 400
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature(body, SECRET, timestamp),
               "Content-Type": "application/x-www-form-urlencoded"}
    with caplog.at_level("DEBUG"):
        answer = requests.post(harness.server.url, data=body.encode(), headers=headers, timeout=10)
    assert answer.status_code == 401
    time.sleep(0.3)
    assert snapshot(harness) == before and harness.stub.responses(name) == []
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a forged request"


@pytest.mark.parametrize("headers_of", [
    lambda body: {"Content-Type": "application/json"},
    lambda body: {**sign(body, "not-the-secret", content_type="application/json")},
    lambda body: {**sign(body, SECRET, content_type="application/json"), "X-Slack-Request-Timestamp": "1" * 13},
], ids=["unsigned", "wrong-secret", "timestamp-too-long"])
def test_a_200000_deep_json_body_gets_401_unparsed(harness, headers_of, caplog):
    """The body was parsed before the signature was checked: 200,000 nested brackets ended
    in a RecursionError and a dropped connection. Now the raw bytes' signature comes first."""
    harness.start()
    body = "[" * 200_000 + "]" * 200_000
    with caplog.at_level("DEBUG"):
        answer = requests.post(harness.server.url, data=body.encode(), headers=headers_of(body), timeout=20)
    assert answer.status_code == 401 and answer.text == "unauthorized"
    assert not [r for r in caplog.records if r.exc_info]
    assert requests.get(harness.server.url.replace("/slack/events", "/health"), timeout=5).text == "ok"


def test_a_correctly_signed_200000_deep_json_body_is_a_400(harness):
    """Slack never sends one; signed or not, it must not take the connection down."""
    harness.start()
    body = "[" * 200_000 + "]" * 200_000
    answer = requests.post(harness.server.url, data=body.encode(),
                           headers=sign(body, SECRET, content_type="application/json"), timeout=20)
    assert answer.status_code == 400


def test_a_link_command_with_a_replayed_signature_from_another_request_gets_401(harness):
    harness.start()
    original = slash_command_body("help", response_url=harness.stub.response_url("h"))
    headers = sign(original, SECRET)  # a real, fresh signature, but of the harmless "help"
    forged = slash_command_body(f"link {seed.SETS['link_test']}", response_url=harness.stub.response_url("l"))
    answer = requests.post(harness.server.url, data=forged.encode(), headers=headers, timeout=10)
    assert answer.status_code == 401
    time.sleep(0.5)
    assert harness.store.link_jobs() == [] and harness.sim.calls["POST /almaws/v1/conf/jobs/{job_id}"] == 0


# --------------------------------------------------------------------------- who decides

DECISIONS = [
    (A.CONTRIBUTE_NEW, lambda case: str(case.id)),
    (A.SKIP_CASE, lambda case: str(case.id)),
    (A.RECHECK_CASE, lambda case: str(case.id)),
    (f"{A.LINK_CANDIDATE}:2", lambda case: f"{case.id}:{case.candidate_ids[1]}"),
]


@pytest.mark.parametrize("user", ["UCATALOG1", "UINTRUDER", "uprogmgr1", "UPROGMGR1 ", ""],
                         ids=["cataloger", "stranger", "pm-id-lowercased", "pm-id-with-space", "nobody"])
def test_only_the_program_manager_may_decide(harness, user):
    harness.start()
    case = open_case(harness)
    before = snapshot(harness)
    for action_id, value_of in DECISIONS:
        answer, name = click(harness, action_id, value_of(case), user=user)
        assert answer.status_code == 200
        refusal = harness.response(name)
        assert "Only the Program Manager" in block_text(refusal.args), action_id
        assert refusal.args.get("response_type") == "ephemeral"
        assert refusal.args.get("replace_original") is False, "the PM's message is left alone"
    time.sleep(0.4)
    assert snapshot(harness) == before
    refused = [r for r in harness.store.audit_rows() if r["outcome"].startswith("refused")]
    assert len(refused) == len(DECISIONS)


# --------------------------------------------------------------------------- hostile MARC

HOSTILE = ("<!channel> <!here|here> <!everyone> @here @channel <http://evil.example/x|click me> "
           "<@UEVIL0001> <#CEVIL0001|general> <mailto:a@evil.example|mail> <!subteam^SEVIL01>")
# the bot's own mentions (<@UCATALOG1>, the PM) and permalinks are fine; these are not
RAW_TOKENS = ("<!channel", "<!here", "<!everyone", "<http://evil", "<@UEVIL", "<#CEVIL", "<mailto",
              "<!subteam")
BROADCAST = re.compile(r"(?<![\w\u200b])@(channel|here|everyone)\b")


def _texts(node, out: list[str], urls: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            elif key == "url" and isinstance(value, str):
                urls.append(value)
            else:
                _texts(value, out, urls)
    elif isinstance(node, list):
        for item in node:
            _texts(item, out, urls)


def hostile_in(message: dict) -> list[str]:
    """What in `message` a hostile MARC field could have turned into a ping or a link."""
    texts: list[str] = []
    urls: list[str] = []
    _texts({k: v for k, v in message.items() if k in ("text", "blocks", "attachments")}, texts, urls)
    problems = []
    for text in texts:
        problems += [f"{raw!r} in {text[:120]!r}" for raw in RAW_TOKENS if raw in text]
        problems += [f"bare @{m.group(1)} in {text[:120]!r}" for m in BROADCAST.finditer(text)]
    problems += [f"url {u!r}" for u in urls if "evil" in u]
    return problems


def add_hostile_records(state):
    """A multi-match whose every displayed field is hostile, a unique match likewise, and
    a set (with a hostile name) of both."""
    nz_ids = []
    for n in range(2):
        nz_id = state.new_nz_id()
        state.add_nz(seed._record(nz_id, HOSTILE, [("a", "(OCoLC)35000001"), ("a", f"(OrU)evil00{n}")],
                                  subtitle=HOSTILE, author=HOSTILE, publisher=HOSTILE, place=HOSTILE,
                                  edition=HOSTILE, pages=HOSTILE, holders=("01SIM_PSU",)),
                     mms_id=nz_id, case="hostile")
        nz_ids.append(nz_id)
    multi = state.new_iz_id()
    state.add_iz(seed._record(multi, HOSTILE, [("a", "(OCoLC)35000001")], author=HOSTILE, local=True),
                 mms_id=multi, case="hostile")
    nz_unique = state.new_nz_id()
    state.add_nz(seed._record(nz_unique, HOSTILE, [("a", "(OCoLC)35000002")], author=HOSTILE),
                 mms_id=nz_unique)
    unique = state.new_iz_id()
    state.add_iz(seed._record(unique, HOSTILE, [("a", "(OCoLC)35000002")], author=HOSTILE), mms_id=unique)
    the_set = state.make_set(f"{HOSTILE} set", [multi, unique], description=HOSTILE)
    return multi, unique, nz_ids, the_set.id


def test_hostile_marc_is_neutralised_in_every_message_the_bot_sends(harness):
    multi, unique, nz_ids, set_id = add_hostile_records(harness.sim.state)
    second = seed.add_multi_match(harness.sim.state, HOSTILE, "35000003", ("(OrU)evil010", ""))[0]
    harness.start()
    acks = []

    def say(text, user=CATALOGER):
        answer, name = harness.command(text, user=user)
        acks.append(answer.json() if answer.text else {})
        return name

    for name in (say(f"match {multi}"), say("match 35000001"), say(f"match {unique}"),
                 say(f"preview {set_id}")):
        harness.response(name)
    harness.response(say(f"link {set_id}"))
    case = harness.wait(lambda: next(iter(harness.store.cases()), None), what="the case")
    review(harness, case)  # the job's queue message, then the case in it
    harness.wait(lambda: reports(harness.stub), what="the report")
    _, sent = click(harness, A.SEND_TO_PM, second, user=CATALOGER, channel=REPORT)
    harness.response(sent)
    _, page = click(harness, f"{A.CASE_PAGE}:next", f"{case.id}:0")
    harness.response(page)
    _, refused = click(harness, LINK, f"{case.id}:{nz_ids[0]}", user=CATALOGER)
    harness.response(refused)
    click(harness, LINK, f"{case.id}:{nz_ids[0]}")
    harness.wait(lambda: harness.store.case(case.id).state == "linked", timeout=20, what="the case linked")
    harness.wait(lambda: any("linked and verified" in block_text(m) for m in harness.stub.messages(REPORT)),
                 what="the outcome in the job's thread")
    harness.response(say("cases"))
    say("cases csv")
    say("jobs")
    time.sleep(0.5)

    sent_messages = [(c.method, c.args) for c in harness.stub.calls()
                     if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")]
    sent_messages += [("ack", a) for a in acks if a]
    assert len(sent_messages) > 20
    problems = {f"{method} #{i}": hostile_in(args) for i, (method, args) in enumerate(sent_messages)}
    assert {k: v for k, v in problems.items() if v} == {}
    # the hostile text did reach the messages (escaped), so the check above meant something
    everything = json.dumps([args for _, args in sent_messages])
    assert "&lt;!channel&gt;" in everything and "&lt;http://evil.example/x|click me&gt;" in everything
    kinds = {block_text(m).split("\n")[0][:30] for m in harness.stub.messages(REPORT)}
    assert reports(harness.stub) and len(kinds) >= 3  # start message, report, case notes at least
    assert harness.sim.state.linked_nz_id_of(multi) == nz_ids[0]


# --------------------------------------------------------------------------- secrets in logs

KEY = "sim-key-SECRET-4f9c2a7710"
TOKEN = "xoxb-SECRET-8d1e55c0aa"
SIGNING = "sign-SECRET-b7c3e901ff"


def test_tokens_and_keys_never_reach_the_log(tmp_path):
    with Simulator(state=seed.sample_state(), api_key=KEY, job_seconds=0.8, seed=3) as sim:
        stub = make_stub(bot_token=TOKEN)
        bot = SubprocessBot(sim, stub, tmp_path, api_key=KEY, bot_token=TOKEN, secret=SIGNING,
                            extra_env={"ALMA_MAX_RETRIES": "1", "ALMA_TIMEOUT": "2"})
        try:
            bot.start()
            names = [bot.command(f"match {seed.CASES['multi']}")[1],
                     bot.command(f"preview {seed.SETS['link_test']}")[1]]
            # Alma errors: 5xx, dropped connections, and a wrong key (401)
            sim.faults.error_rate = 1.0
            names.append(bot.command(f"match {seed.CASES['unique']}")[1])
            names.append(bot.command(f"link {seed.SETS['link_test']}")[1])
            wait_until(lambda: len(stub.responses()) >= 4, what="answers")
            wait_until(lambda: "Internal server error" in bot.log(), what="the 5xx logged")
            sim.faults.error_rate = 0.0
            sim.faults.drop_rate = 1.0
            names.append(bot.command(f"match {seed.CASES['unique_2']}")[1])
            wait_until(lambda: len(stub.responses()) >= 5, what="answers")
            wait_until(lambda: "could not be reached" in bot.log(), what="the drops logged")
            sim.faults.drop_rate = 0.0
            sim.api_key = "another-key"
            names.append(bot.command(f"match {seed.CASES['unique_3']}")[1])
            wait_until(lambda: len(stub.responses()) >= 6, what="answers")
            wait_until(lambda: "API-key not defined" in bot.log(), what="the 401 logged")
            sim.api_key = KEY
            # Slack errors: the start message and the report fail to post for a while
            stub.fail_next("chat.postMessage", error="invalid_auth", times=3)
            stub.fail_next("chat.update", error="ratelimited", times=2)
            bot.command(f"link {seed.SETS['link_test']}")
            wait_until(lambda: reports(stub), timeout=30, what="the report, in the end")
            # a forged request, a malformed one, and a PM decision by someone else
            requests.post(bot.url, data=slash_command_body("jobs"), timeout=5,
                          headers=sign(slash_command_body("jobs"), "guess"))
            post_signed(bot.url, "payload=%7Bnot+json", SIGNING)
            bot.click(A.SKIP_CASE, "1", user=CATALOGER)
            time.sleep(1.0)
        finally:
            bot.stop()
            stub.stop()
    log = bot.log()
    assert "Listening for Slack" in log or "listening for Slack" in log
    assert re.search(r"WARNING .*(Alma|link jobs)", log), "the Alma errors were logged"
    assert "API-key not defined" in log and "could not be reached" in log
    assert re.search(r"(invalid_auth|could not post)", log), "the Slack errors were logged"
    for secret in (KEY, TOKEN, SIGNING, TOKEN.removeprefix("xoxb-"), KEY[-10:], SIGNING[-10:]):
        assert secret not in log, f"{secret!r} is in the log"
    assert "/response/" not in log, "a response_url (a credential of its own) is in the log"
