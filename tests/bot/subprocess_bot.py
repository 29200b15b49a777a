"""`nzbot run` as a real process, for the tests that kill it.

    bot = SubprocessBot(sim, stub, tmp_path).start()     # waits for GET /health
    answer = bot.command("link 123")                       # a signed /nz, as Slack sends it
    bot.kill()                                             # SIGKILL: no clean-up of any kind
    bot.start()                                            # a new process on the same DB
    bot.stop()                                             # at the end of the test

The bot runs in HTTP mode with its settings in the environment, as in production; its
stderr (the log) goes to a file, `bot.log_path`, appended to across restarts. The test
reads the bot's SQLite state with its own `Store` on the same file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from alma.simulator import Simulator
from tests.slack.faults import SlackStub
from bot.demo.slack_requests import block_action_payload, interaction_body, post_signed, slash_command_body
from nzbot.store import Store

REPO = Path(__file__).resolve().parents[2]

SECRET = "subprocess-signing-secret-5c0d9e"
BOT_TOKEN = "xoxb-subprocess-token-7f3a1b"
REPORT = "CREPORT01"
CATALOGER = "UCATALOG1"
PM = "UPROGMGR1"
REPORT_EVENT = "nzbot_job_report"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_stub(bot_token: str = BOT_TOKEN) -> SlackStub:
    return SlackStub(
        bot_token=bot_token,
        users={CATALOGER: {"name": "cataloger"}, PM: {"name": "program.manager"},
               "UOTHER001": {"name": "someone"}},
        channels={REPORT: {"name": "nz-report"}, "COTHER001": {"name": "random"}},
    ).start()


def reports(stub: SlackStub, channel: str = REPORT) -> list[dict]:
    return [m for m in stub.messages(channel)
            if (m.get("metadata") or {}).get("event_type") == REPORT_EVENT]


def wait_until(condition, timeout: float = 20.0, what: str = "condition", interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# The fixtures of the modules that run the bot as a process: import them by name (with
# tests/conftest.py's `sim`, the simulator they share).
@pytest.fixture
def stub():
    s = make_stub()
    yield s
    s.stop()


@pytest.fixture
def bot(sim, stub, tmp_path):
    b = SubprocessBot(sim, stub, tmp_path)
    yield b
    b.stop()


class PortTaken(Exception):
    """Another process took the bot's port between choosing it and binding it."""


class SubprocessBot:
    def __init__(self, sim: Simulator, stub: SlackStub, workdir: Path, *,
                 api_key: str | None = None, bot_token: str = BOT_TOKEN, secret: str = SECRET,
                 extra_env: dict[str, str] | None = None) -> None:
        self.sim = sim
        self.stub = stub
        self.workdir = Path(workdir)
        self.db_path = self.workdir / "nzbot.db"
        self.log_path = self.workdir / "nzbot.log"
        self.secret = secret
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("ALMA_", "SLACK_", "NZBOT_"))},
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "PYTHONUNBUFFERED": "1",
            "ALMA_API_KEY": api_key or sim.api_key,
            "ALMA_API_URL": sim.base_url,
            "ALMA_NZ_SRU_URL": sim.sru_url,
            "ALMA_TIMEOUT": "5",
            "ALMA_MAX_RETRIES": "2",
            "ALMA_QUOTA_FLOOR": "0",
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": stub.api_url,
            "NZBOT_REPORT_CHANNEL": REPORT,
            "NZBOT_PM_USERS": PM,
            "NZBOT_DB": str(self.db_path),
            "PORT": str(self.port),
            "NZBOT_POLL_SECONDS": "0.2",
            "NZBOT_DISCOVER_SECONDS": "0.3",
            "NZBOT_CASE_BATCH_SECONDS": "0.2",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._store: Store | None = None

    # -- life cycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, timeout: float = 20.0) -> "SubprocessBot":
        """Starts `nzbot run` and waits until it answers. The port was free when chosen, but
        under pytest-xdist another process may take it before the bot binds it: then the
        bot starts again on another free port (the tests reach it through `url`)."""
        for _ in range(3):
            try:
                return self._start(timeout)
            except PortTaken:
                self.port = free_port()
                self.env["PORT"] = str(self.port)
        raise AssertionError(f"nzbot run found no free port:\n{self.log()}")

    def _start(self, timeout: float) -> "SubprocessBot":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                cwd=str(self.workdir), env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if f"port {self.port} is in use" in self.log()[offset:]:
                    raise PortTaken(self.port)
                raise AssertionError(f"nzbot run exited with {self.proc.returncode}:\n{self.log()}")
            if self.ready(self.log()[offset:]):
                return self
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"nzbot run was not ready within {timeout}s:\n{self.log()}")

    def ready(self, new_log: str) -> bool:
        """Whether the new process takes Slack's requests: it answers GET /health, and it is
        ours, not another process's server on the same port (this bot said it listens)."""
        try:
            return (f"on port {self.port} " in new_log
                    and requests.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200)
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)  # SIGTERM: the bot stops as on Ctrl-C, its grace 5 s
            except subprocess.TimeoutExpired:
                self.kill()
        if self._store is not None:
            self._store.close()
            self._store = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def store(self) -> Store:
        """The bot's database, read (and only read) from the test."""
        if self._store is None:
            self._store = Store(str(self.db_path))
        return self._store

    # -- Slack, as Slack sends it ------------------------------------------------------

    def command(self, text: str, *, user: str = CATALOGER, channel: str = REPORT,
                response_name: str | None = None) -> tuple[requests.Response, str]:
        name = response_name or f"r{time.monotonic_ns()}"
        body = slash_command_body(text, user_id=user, channel_id=channel,
                                  response_url=self.stub.response_url(name))
        return post_signed(self.url, body, self.secret), name

    def click(self, action_id: str, value: str, *, user: str = PM, channel: str = "DPROGMGR1",
              message_ts: str = "1.0") -> tuple[requests.Response, str]:
        name = f"click{time.monotonic_ns()}"
        payload = block_action_payload(action_id, value, user_id=user, channel_id=channel,
                                       message_ts=message_ts,
                                       response_url=self.stub.response_url(name))
        return post_signed(self.url, interaction_body(payload), self.secret), name
