"""Malformed input, table-driven: /nz with odd text, forged and tampered button payloads,
and malformed settings. Each is answered clearly (words a cataloger understands, or one
SettingError line naming the setting) and none changes anything: no link job recorded,
no case moved, no Alma write, nothing in the report channel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alma.config import AlmaSettings, SettingError
from alma.simulator import Simulator, seed
from bot import action_ids as A
from tests.slack.faults import SlackStub
from bot.rendering import message_texts
from bot.demo.slack_requests import block_action_payload, interaction_body, post_signed
from nzbot.settings import BotSettings
from tests.bot.conftest import BOT_TOKEN, CATALOGER, PM, REPORT, SECRET, Harness, block_text
from tests.conftest import API_KEY

REPO = Path(__file__).resolve().parents[2]
SECTION_LIMIT = 3000


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    """One bot for the whole table (nothing here may change its state anyway), with one
    open case (sent to the Program Manager from a lookup) for the buttons to aim at."""
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = SlackStub(
            bot_token=BOT_TOKEN,
            users={CATALOGER: {"name": "cataloger"}, PM: {"name": "program.manager"}},
            channels={REPORT: {"name": "nz-report"}, "COTHER001": {"name": "random"}},
        ).start()
        harness = Harness(sim=sim, stub=stub, db_path=tmp_path_factory.mktemp("bad") / "nzbot.db").start()
        try:
            case, new = harness.bot.services.cases.send_to_pm(seed.CASES["multi_language"], CATALOGER)
            assert new and case.state == "open"
            harness.case = case
            yield harness
        finally:
            harness.stop()
            stub.stop()


def snapshot(h) -> dict:
    sim = h.sim
    return {
        "link_jobs": len(h.store.link_jobs()),
        "cases": [(c.id, c.state, c.decision, c.chosen_nz_mms_id) for c in h.store.cases()],
        "alma_writes": sum(n for key, n in sim.calls.items() if key.split()[0] in ("POST", "PUT", "DELETE")),
        "runs": len(sim.state.runs),
        "report_channel": len(h.stub.messages(REPORT)),
        "iz_links": {m: b.linked_nz_id for m, b in sim.state.iz.items()},
    }


def assert_safe(message: dict) -> None:
    """Nothing from the input can ping or link, and every text fits Slack's limits."""
    for text in message_texts(message):
        for raw in ("<!channel>", "<!here>", "<@UPROGMGR1>", "<http"):
            assert raw not in text, f"unescaped {raw!r} in {text[:200]!r}"
        assert len(text) <= SECTION_LIMIT, f"a text of {len(text)} characters"


# --------------------------------------------------------------------------- /nz text

ACK, LATER = "ack", "later"

COMMANDS = [
    ("frobnicate", ACK, "I don't know the subcommand"),
    ("MATCH", ACK, "needs one IZ MMS ID"),
    ("match 1 2", ACK, "needs one IZ MMS ID"),
    ("match '; DROP TABLE link_jobs;--", ACK, "needs one IZ MMS ID"),
    ("match abc", LATER, "neither an MMS ID"),
    ("match 99-123", LATER, "neither an MMS ID"),
    ("match $(reboot)", LATER, "neither an MMS ID"),
    ("match `id`", LATER, "neither an MMS ID"),
    ("match 0", LATER, "neither an MMS ID"),
    ("match -5", LATER, "neither an MMS ID"),
    pytest.param("match " + "9" * 3000, LATER, "is not an MMS ID", id="match-3000-nines"),
    ("match 9912345678906391000000000", LATER, "no bib record"),
    ("match 991234567890639100000000000000", LATER, "is not an MMS ID"),
    ("match <!channel>", LATER, "neither an MMS ID"),
    ("match <@UPROGMGR1>", LATER, "neither an MMS ID"),
    ("match (OCoLC)abc", LATER, "neither an MMS ID"),
    ("match\tabc", LATER, "neither an MMS ID"),
    ("preview", ACK, "needs a set id or a set name"),
    ("preview <!channel>", LATER, "no set named"),
    ("preview ; rm -rf /", LATER, "no set named"),
    ("preview " + "x" * 5000, LATER, "no set named"),
    ("preview 0", LATER, "no set with id 0"),
    ("preview 99999999999999999999999999", LATER, "no set named"),
    # `/nz link` with no set (contribute or not) opens the form: tests/bot/test_sets_from_slack.py
    ("link <!here> contribute", LATER, "no set named"),
    ("link <http://evil.example|Link job test set>", LATER, "no set named"),
    ("link Robert'); DROP TABLE cases;--", LATER, "no set named"),
    ("link 1 2 3 contribute contribute", LATER, "no set named"),
    ("link \U0001F642", LATER, "no set named"),
    ("link \u202e\u200b", LATER, "no set named"),
    ("link " + seed.SETS["empty"], LATER, "is empty"),
    ("link " + seed.SETS["items"], LATER, "not bib records"),
    ("cases open", ACK, "takes nothing, or csv"),
    ("cases csv please", ACK, "takes nothing, or csv"),
    ("jobs all", ACK, "takes nothing after it"),
    ("\u00a0", ACK, "/nz match"),
]

NON_ASCII_DIGITS = pytest.param(
    "match \uff19\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", LATER, "MMS ID",
    id="fullwidth-digits",
)


def _short(value):
    return value[:40] if isinstance(value, str) else None


@pytest.mark.parametrize("text,phase,words", [*COMMANDS, NON_ASCII_DIGITS], ids=_short)
def test_malformed_commands_are_answered_clearly_and_change_nothing(h, text, phase, words):
    before = snapshot(h)
    sru_before = h.sim.calls["GET /view/sru"]
    started = time.monotonic()
    answer, name = h.command(text)
    assert answer.status_code == 200 and time.monotonic() - started < 3.0
    ack = answer.json() if answer.text else {}
    if ack:
        assert_safe(ack)
    if phase == ACK:
        said = block_text(ack)
    else:
        later = h.response(name, timeout=15).args
        assert_safe(later)
        assert later.get("response_type") == "ephemeral"
        said = block_text(later)
    assert words.lower() in said.lower(), said[:500]
    assert "Something went wrong" not in said
    if "\uff19" in text:
        assert "No NZ match" not in said and h.sim.calls["GET /view/sru"] == sru_before
    assert snapshot(h) == before


# --------------------------------------------------------------------------- buttons

LINK = f"{A.LINK_CANDIDATE}:1"
PAGE = f"{A.CASE_PAGE}:next"


def _buttons(case_id: int, candidate: str):
    return [
        # (id, action_id, value, user, expected words in the response; None: no response)
        ("link-empty-candidate", LINK, f"{case_id}:", PM, "names no NZ record"),
        ("link-negative-case", LINK, f"-1:{candidate}", PM, "no case"),
        ("link-sql-case", LINK, f"1 OR 1=1:{candidate}", PM, "no case"),
        ("link-extra-part", LINK, f"{case_id}:{candidate}:x", PM, "not an NZ record's MMS ID"),
        ("link-other-records-nz", LINK, f"{case_id}:{seed.NZ_RECORDS['multi_a']}", PM, "not one of"),
        ("link-channel-in-value", LINK, f"{case_id}:<!channel>", PM, "not an NZ record's MMS ID"),
        ("contribute-word", A.CONTRIBUTE_NEW, "abc", PM, "no case"),
        ("contribute-zero", A.CONTRIBUTE_NEW, "0", PM, "no case"),
        ("skip-float", A.SKIP_CASE, "1e3", PM, "no case"),
        ("recheck-unknown", A.RECHECK_CASE, "424242", PM, "no case"),
        ("page-no-case", PAGE, "x:1", PM, "no case"),
        ("send-channel", A.SEND_TO_PM, "<!channel>", CATALOGER, "not an IZ record's MMS ID"),
        ("send-not-multi", A.SEND_TO_PM, seed.CASES["unique"], CATALOGER, "no longer a multi-match"),
        ("send-empty", A.SEND_TO_PM, "", CATALOGER, "not an IZ record's MMS ID"),
        ("send-unknown-record", A.SEND_TO_PM, "9912345678906391", CATALOGER, "no bib record"),
    ]


BUTTON_IDS = [row[0] for row in _buttons(1, "1")]
ODD_BUTTONS = {
    "recheck-huge-case-id": (A.RECHECK_CASE, "99999999999999999999999", PM, "no case",
                             "a case id beyond SQLite's 64-bit integers raises OverflowError, which "
                             "Cases.case() (nzbot/cases.py) does not catch: 'Something went wrong'"),
    "page-not-a-number": (PAGE, "{case}:abc", PM, None,
                          "turn_page() (bot/listeners/actions/case_buttons.py) does int(page) outside "
                          "any BadInput: a non-numeric page answers 'Something went wrong inside nzbot'"),
}


def click(h, action_id, value, user, mutate=None):
    name = f"b{time.monotonic_ns()}"
    payload = block_action_payload(action_id, value, user_id=user,
                                   channel_id=REPORT if user == CATALOGER else "DPROGMGR1",
                                   response_url=h.stub.response_url(name))
    if mutate:
        mutate(payload)
    return post_signed(h.server.url, interaction_body(payload), SECRET), name


def check_button(h, action_id, value, user, words):
    before = snapshot(h)
    answer, name = click(h, action_id, value, user)
    assert answer.status_code == 200
    said = block_text(h.response(name, timeout=15).args)
    assert_safe(h.stub.responses(name)[0].args)
    assert "Something went wrong" not in said, said
    if words:
        assert words.lower() in said.lower(), said
    time.sleep(0.2)
    assert snapshot(h) == before


@pytest.mark.parametrize("index", range(len(BUTTON_IDS)), ids=BUTTON_IDS)
def test_forged_button_values_are_refused_plainly_and_change_nothing(h, index):
    _, action_id, value, user, words = _buttons(h.case.id, h.case.candidate_ids[0])[index]
    check_button(h, action_id, value, user, words)


@pytest.mark.parametrize("key", list(ODD_BUTTONS))
def test_odd_button_values_that_once_confused_the_bot(h, key):
    action_id, value, user, words, _ = ODD_BUTTONS[key]
    check_button(h, action_id, value.replace("{case}", str(h.case.id)), user, words)


def _drop(key):
    return lambda p: p.pop(key)


def _action(**changes):
    return lambda p: p["actions"][0].update(changes)


TAMPERED = [
    # (id, mutate payload, allowed HTTP statuses, expected words in a response or None)
    ("unknown-action-id", _action(action_id="nz_case_linkx"), {404}, None),
    ("made-up-action-id", _action(action_id="nz_delete_everything"), {404}, None),
    ("no-action-id", _action(action_id=None), {404}, None),
    ("no-actions", _drop("actions"), {400}, None),  # a button press with no button: malformed
    ("no-user", _drop("user"), {200}, "Only the Program Manager"),
    ("no-value", lambda p: p["actions"][0].pop("value"), {200}, "no case"),
    ("wrong-type", lambda p: p.update(type="view_submission"), {404}, None),
    # Slack never sends an empty list (Bolt's own matcher would fail on it): refused as such
    ("empty-actions", lambda p: p.update(actions=[]), {400}, None),
]


@pytest.mark.parametrize("label,mutate,statuses,words", TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_interaction_payloads_change_nothing(h, label, mutate, statuses, words):
    before = snapshot(h)
    answer, name = click(h, A.SKIP_CASE, str(h.case.id), PM, mutate)
    assert answer.status_code in statuses, (answer.status_code, answer.text)
    if words:
        said = block_text(h.response(name, timeout=15).args)
        assert words.lower() in said.lower(), said
    time.sleep(0.3)
    assert snapshot(h) == before
    assert h.store.case(h.case.id).state == "open"


@pytest.mark.parametrize("body", [
    "payload=%7Bnot+json",
    pytest.param("payload=%5B1%2C2", id="truncated-json"),
    "payload=",
    "payload=null",
    pytest.param("payload=%22text%22", id="payload-a-json-string"),
])
def test_an_unparseable_payload_is_a_400_not_a_500(h, body):
    before = snapshot(h)
    answer = post_signed(h.server.url, body, SECRET)
    assert snapshot(h) == before
    assert answer.status_code == 400


@pytest.mark.parametrize("body,statuses,words", [
    ("foo=bar", {404}, None),
    ("", {404}, None),
    ("payload=%7B%7D", {404}, None),
    # a bare slash command with no user, channel, trigger or response_url: refused
    ("command=%2Fnz&text=link+" + seed.SETS["link_test"], {200}, "started only in"),
], ids=["foo=bar", "empty-body", "empty-json-payload", "bare-link-command"])
def test_requests_without_a_usable_payload_are_not_acted_on(h, body, statuses, words):
    before = snapshot(h)
    answer = post_signed(h.server.url, body, SECRET)
    assert answer.status_code in statuses, (body, answer.status_code)
    if words:
        assert words in block_text(answer.json())
    time.sleep(0.3)
    assert snapshot(h) == before


# --------------------------------------------------------------------------- settings

GOOD = {
    "ALMA_API_KEY": "l7xx-test-key",
    "ALMA_API_URL": "https://api-na.hosted.exlibrisgroup.com",
    "ALMA_NZ_SRU_URL": "https://na01.alma.exlibrisgroup.com/view/sru/01ALLIANCE_NETWORK",
    "SLACK_BOT_TOKEN": "xoxb-123-456-abc",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "NZBOT_REPORT_CHANNEL": "C0123ABCD",
    "NZBOT_PM_USERS": "U0123ABCD",
}

SETTINGS = [
    ("ALMA_API_KEY", ""),
    ("ALMA_API_KEY", "   "),
    ("ALMA_API_URL", "ftp://alma.example.org"),
    ("ALMA_API_URL", "api-na.hosted.exlibrisgroup.com"),
    ("ALMA_API_URL", "mars"),
    ("ALMA_API_URL", "http://"),
    ("ALMA_NZ_SRU_URL", "javascript:alert(1)"),
    ("ALMA_REQUESTS_PER_SECOND", "fast"),
    ("ALMA_REQUESTS_PER_SECOND", "0"),
    ("ALMA_REQUESTS_PER_SECOND", "100"),
    ("ALMA_REQUESTS_PER_SECOND", "nan"),
    ("ALMA_TIMEOUT", "-1"),
    ("ALMA_TIMEOUT", "inf"),
    ("ALMA_MAX_RETRIES", "many"),
    ("ALMA_QUOTA_FLOOR", "1e99"),
    ("SLACK_BOT_TOKEN", ""),
    ("SLACK_BOT_TOKEN", "xoxp-123-456"),
    ("SLACK_APP_TOKEN", "xoxb-123"),
    ("SLACK_SIGNING_SECRET", ""),
    ("SLACK_API_URL", "slack.com/api"),
    ("NZBOT_REPORT_CHANNEL", ""),
    ("NZBOT_REPORT_CHANNEL", "#nz-report"),
    ("NZBOT_REPORT_CHANNEL", "U0123ABCD"),
    ("NZBOT_REPORT_CHANNEL", "C0123ABCD\nC0456"),
    ("NZBOT_PM_USERS", ""),
    ("NZBOT_PM_USERS", "pat"),
    ("NZBOT_PM_USERS", "U0123ABCD,,@pat"),
    ("NZBOT_PM_USERS", "u0123abcd"),
    ("NZBOT_PM_USERS", "U0123ABCD;U0456EFGH"),
    ("NZBOT_PM_CHANNEL", "general"),
    ("NZBOT_ALLOWED_CHANNELS", "C0123ABCD, #random"),
    ("NZBOT_ALLOWED_USERS", "U0123ABCD U0456EFGH"),
    ("PORT", "http"),
    ("PORT", "0"),
    ("PORT", "70000"),
    ("NZBOT_POLL_SECONDS", "0"),
    ("NZBOT_POLL_SECONDS", "nan"),
    ("NZBOT_DISCOVER_SECONDS", "-5"),
    ("NZBOT_CASE_BATCH_SECONDS", "soon"),
    ("NZBOT_TIMEZONE", "Mars/Olympus_Mons"),
    ("NZBOT_TIMEZONE", "../../etc/passwd"),
    ("NZBOT_SCHEDULE_GRACE", "six hours"),
    ("NZBOT_SCHEDULE_GRACE", "-1"),
    ("NZBOT_SCHEDULE_GRACE", "400h"),
]


def _once_accepted(name, value, why):
    """A malformed value that start-up once let through (`why`); it must stop it now."""
    return pytest.param(name, value, id=f"{name}={value!r}")


SETTINGS_ACCEPTED_BUT_MALFORMED = [
    _once_accepted("ALMA_API_KEY", "l7xx-abc\ndef",
                   "AlmaSettings.from_env (alma/config.py) accepts a key with a newline or spaces; "
                   "requests then refuses the header on every call (InvalidHeader, not an AlmaError), "
                   "so every command answers 'Something went wrong inside nzbot' instead of start-up "
                   "stopping with one line"),
    _once_accepted("ALMA_API_URL", "https://api na.example.org",
                   "_url_or_empty (alma/config.py) only checks the scheme prefix: a URL with a space "
                   "in its host is accepted, and fails later as 'Alma could not be reached'"),
    _once_accepted("ALMA_MAX_RETRIES", "2.5",
                   "integer settings go through float() then int(): 2.5 retries silently becomes 2 "
                   "(alma/config.py AlmaSettings.from_env)"),
    _once_accepted("PORT", "80.5",
                   "integer settings go through float() then int(): PORT=80.5 silently becomes 80 "
                   "(nzbot/settings.py BotSettings.from_env)"),
    _once_accepted("ALMA_LINK_JOB_ID", "M85; DROP",
                   "ALMA_LINK_JOB_ID is not checked at start-up (alma/config.py); check_job_id "
                   "refuses it only when a cataloger runs /nz link"),
]


@pytest.mark.parametrize("name,value", [
    *(pytest.param(n, v, id=f"{n}={v!r}") for n, v in SETTINGS), *SETTINGS_ACCEPTED_BUT_MALFORMED])
def test_a_malformed_setting_stops_start_up_with_one_line_naming_it(name, value):
    env = {**GOOD, name: value}
    with pytest.raises(SettingError) as raised:
        BotSettings.from_env(env)
    message = str(raised.value)
    assert "\n" not in message.strip(), message
    assert name in message, message
    assert len(message) < 300
    for secret in ("l7xx-test-key", "xoxb-123-456-abc", "signing-secret"):
        assert secret not in message
    if name.startswith("ALMA_"):  # the Alma half alone (the CLI's match and preview) says the same
        with pytest.raises(SettingError, match=name):
            AlmaSettings.from_env(env)


def test_the_good_settings_are_accepted():
    settings = BotSettings.from_env(GOOD)
    assert settings.report_channel == "C0123ABCD" and settings.pm_users == ("U0123ABCD",)


def test_nzbot_run_with_a_malformed_setting_exits_2_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALMA_", "SLACK_", "NZBOT_"))}
    env.update(GOOD, NZBOT_PM_USERS="pat", NZBOT_DB=str(tmp_path / "nzbot.db"),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nzbot: NZBOT_PM_USERS"), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "nzbot.db").exists(), "nothing was created"
