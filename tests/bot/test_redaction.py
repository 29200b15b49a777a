"""Secrets never reach Slack or the log (issue 11 items 8 and 9): an Alma error that
echoes the API key is scrubbed in the one place (nzbot.redaction) before any message is
sent or any log line written; a secret too short to scrub safely stops start-up."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from alma.simulator import seed
from nzbot.redaction import REDACTED, redact
from tests.bot.conftest import BOT_TOKEN, SECRET, block_text
from tests.conftest import API_KEY, settings_for

REPO = Path(__file__).resolve().parents[2]


def everything_sent(harness) -> str:
    return "\n".join(str(c.args) for c in harness.stub.calls())


def test_an_alma_error_echoing_the_key_is_scrubbed_from_slack_and_the_log(harness, caplog):
    harness.overrides = {"alma": settings_for(harness.sim, max_retries=0)}  # the 5xx at once
    harness.start()
    harness.sim.faults.error_rate = 1.0
    harness.sim.faults.echo_key_in_errors = True
    with caplog.at_level(logging.DEBUG):
        answer, name = harness.command(f"match {seed.CASES['unique']}")
        said = harness.response(name).args
        answer, link = harness.command(f"link {seed.SETS['link_test']}")
        harness.response(link)
        logging.getLogger("nzbot.test").exception("a failure quoting %s", API_KEY,
                                                   exc_info=RuntimeError(f"key {API_KEY} token {BOT_TOKEN}"))
    harness.sim.faults.error_rate = 0.0
    text = block_text(said)
    assert "Alma is having trouble" in text and f"apikey={REDACTED}" in text, text
    assert API_KEY not in everything_sent(harness)
    logged = caplog.text
    assert REDACTED in logged and "a failure quoting" in logged and "RuntimeError" in logged
    for secret in (API_KEY, BOT_TOKEN, SECRET):
        assert secret not in logged, secret
        assert all(secret not in r.getMessage() for r in caplog.records)


def test_redact_replaces_whole_values_only():
    key = "l7xx-0123456789abcdef"
    text = f"Alma API key {key} refused; key again {key}."
    assert redact(text, [key, "e", "ey"]) == f"Alma API key {REDACTED} refused; key again {REDACTED}."
    assert redact("xoxb-abc-def-ghi and xoxb-ab", ["xoxb-ab", "xoxb-abc-def-ghi"]) == (
        f"{REDACTED} and xoxb-ab")  # a secret under 8 characters is never configured, never scrubbed


def test_nzbot_run_refuses_a_short_secret_naming_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALMA_", "SLACK_", "NZBOT_"))}
    env.update(ALMA_API_KEY="l7xx-long-enough-key", ALMA_NZ_SRU_URL="https://example.org/view/sru/01NZ",
               SLACK_BOT_TOKEN="xoxb-123-456-abc", SLACK_SIGNING_SECRET="s3",
               NZBOT_REPORT_CHANNEL="C0123ABCD", NZBOT_PM_USERS="U0123ABCD", NZBOT_DB=str(tmp_path / "nzbot.db"),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "nzbot: SLACK_SIGNING_SECRET is too short (2 characters) to be the app's signing secret: copy "
        "the whole value again (keys, tokens and secrets have at least 8)."]
    assert not (tmp_path / "nzbot.db").exists()


def test_the_cli_prints_an_alma_error_echoing_the_key_scrubbed(sim, monkeypatch, capsys):
    from bot.cli import main

    for name, value in dict(ALMA_API_KEY=API_KEY, ALMA_API_URL=sim.base_url, ALMA_NZ_SRU_URL=sim.sru_url,
                            ALMA_MAX_RETRIES="0").items():
        monkeypatch.setenv(name, value)
    sim.faults.error_rate = 1.0
    sim.faults.echo_key_in_errors = True
    assert main(["match", seed.CASES["unique"]]) == 1
    printed = capsys.readouterr()
    assert f"apikey={REDACTED}" in printed.err
    assert API_KEY not in printed.err + printed.out
