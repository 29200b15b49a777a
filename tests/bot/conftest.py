"""The whole bot, for real, over HTTP: the Alma simulator, a Slack Web API stub, and the
bot's own HTTP endpoint receiving signed requests as Slack sends them."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from alma.simulator import Simulator, seed
from bot.app import Bot, create_bot
from bot.rendering import message_texts
from bot.server import SlackHttpServer
from nzbot.settings import BotSettings
from bot.demo.slack_requests import post_signed, slash_command_body
from tests.slack.faults import SlackStub
from tests.conftest import API_KEY, settings_for

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
REPORT = "CREPORT01"
CATALOGER = "UCATALOG1"
PM = "UPROGMGR1"
_NAMES = itertools.count(1)  # response_url names, one per command or click


@dataclass
class Harness:
    sim: Simulator
    stub: SlackStub
    db_path: Path
    bot: Bot | None = None
    server: SlackHttpServer | None = None
    overrides: dict = field(default_factory=dict)
    clock: object = None  # a callable giving the bot's time (UTC), when a test moves it

    def settings(self) -> BotSettings:
        values = dict(
            alma=settings_for(self.sim),
            bot_token=BOT_TOKEN,
            signing_secret=SECRET,
            slack_api_url=self.stub.api_url,
            report_channel=REPORT,
            pm_users=(PM,),
            db_path=str(self.db_path),
            poll_seconds=0.2,
            discover_seconds=0.3,
            case_batch_seconds=0.2,
        )
        values.update(self.overrides)
        return BotSettings(**values)

    def start(self) -> "Harness":
        self.bot = create_bot(self.settings(), clock=self.clock)
        self.server = SlackHttpServer(self.bot.app, host="127.0.0.1", port=0,
                                      alma_webhook=self.bot.alma_webhook, health=self.bot.health).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        if self.bot:
            self.bot.stop()
        self.server = self.bot = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def store(self):
        return self.bot.services.store

    def command(self, text: str, *, user: str = CATALOGER, channel: str = REPORT,
                trigger_id: str | None = None, retry_num: int | None = None,
                response_name: str | None = None) -> tuple[requests.Response, str]:
        """Sends `/nz text` as Slack does; returns the HTTP answer and the response_url's name."""
        name = response_name or f"r{next(_NAMES)}"
        body = slash_command_body(text, user_id=user, channel_id=channel,
                                  response_url=self.stub.response_url(name), trigger_id=trigger_id)
        answer = post_signed(self.server.url, body, SECRET, retry_num=retry_num)
        return answer, name

    def response(self, name: str, timeout: float = 10.0):
        """The (first) delayed answer sent to a command's response_url."""
        return self.stub.wait_for("response_url", lambda c: c.name == name, timeout=timeout)

    def wait(self, condition, timeout: float = 15.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def harness(tmp_path):
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = SlackStub(
            bot_token=BOT_TOKEN,
            users={CATALOGER: {"name": "cataloger"}, PM: {"name": "program.manager"},
                   "UOTHER001": {"name": "someone"}},
            channels={REPORT: {"name": "nz-report"}, "COTHER001": {"name": "random"}},
        ).start()
        h = Harness(sim=sim, stub=stub, db_path=tmp_path / "nzbot.db")
        try:
            yield h
        finally:
            h.stop()
            stub.stop()


def block_text(message: dict) -> str:
    """Everything a person would read in a message: fallback text and every block's text."""
    return "\n".join(message_texts(message))


def command_calls(sim: Simulator) -> int:
    """Alma calls other than the scheduler's watching of jobs (which never stops)."""
    return sum(n for key, n in sim.calls.items() if "/conf/jobs" not in key)


def click(harness: Harness, action_id: str, value: str, *, user: str = PM,
          channel: str = "D0000PM01", message_ts: str = "1.0", trigger_id: str | None = None):
    """Presses a button as Slack reports it; returns the HTTP answer and the response_url's name."""
    from bot.demo.slack_requests import block_action_payload, interaction_body

    name = f"click{next(_NAMES)}"  # unique even for clicks at the same instant
    payload = block_action_payload(action_id, value, user_id=user, channel_id=channel,
                                   message_ts=message_ts, trigger_id=trigger_id,
                                   response_url=harness.stub.response_url(name))
    answer = post_signed(harness.server.url, interaction_body(payload), SECRET)
    return answer, name


def queue_message(harness: Harness, link_job: int, timeout: float = 15.0) -> tuple[str, str]:
    """(channel, ts) of the Program Manager's queue message for a link job's cases."""
    return harness.wait(lambda: next(iter(harness.store.queue_messages_of(link_job)), None),
                        timeout=timeout, what=f"the queue message of link job {link_job}")


def review(harness: Harness, case, *, user: str = PM, timeout: float = 15.0) -> tuple[str, str]:
    """The Program Manager presses "Review cases" on the queue message of the job that
    revealed `case` (a case sent from a lookup has its own message: nothing to press);
    waits until the message shows `case`, and returns (channel, ts) of the message."""
    from bot import action_ids

    if case.link_job is not None:
        channel, ts = queue_message(harness, case.link_job, timeout)
        click(harness, action_ids.REVIEW_CASES, str(case.link_job), user=user, channel=channel, message_ts=ts)
    return harness.wait(lambda: next(iter(harness.store.case_messages(case.id)), None),
                        timeout=timeout, what=f"case {case.id} shown to the Program Manager")
