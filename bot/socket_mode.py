"""Socket Mode: the bot's WebSocket connection to Slack, on the `websockets` library.

slack_sdk's two synchronous clients failed tests/bot/test_socket_mode.py (the stand-in plays
Slack's side): the built-in one noticed a dropped connection 10-50 s late and, after a
`disconnect`, left the new connection unread for 3 s, past Slack's ack limit; the
websocket-client one sometimes had no connection at all for 10 s after a `disconnect`.

This client keeps slack_sdk's envelope handling (`BaseSocketModeClient`: the queue, the
listeners, `disconnect` -> a new connection) and Bolt's dispatch (`run_bolt_app`,
`send_response`); it does only the transport: the new connection is open and read before
the old one is closed, a connection that ends by anything but our closing it is replaced at
once (pings find a silent one), and an ack whose connection died is sent on the new one.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from queue import Empty, Queue

from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.interval_runner import IntervalRunner
from slack_sdk.socket_mode.request import SocketModeRequest
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger(__name__)

OPEN_SECONDS = 10  # for the WebSocket handshake
ACK_GRACE_SECONDS = 1.5  # how long an ack waits for a new connection (Slack allows 3 s)
RETRY_SECONDS = (1, 2, 5, 10, 30)  # between failed attempts to reconnect


class SocketModeClient(BaseSocketModeClient):
    def __init__(self, app_token: str, web_client: WebClient, *, ping_interval: float = 10,
                 concurrency: int = 10) -> None:
        self.app_token = app_token
        self.web_client = web_client
        self.logger = log
        self.ping_interval = ping_interval
        self.wss_uri = None  # type: ignore[assignment]
        self.message_queue = Queue()
        self.message_listeners = []
        self.socket_mode_request_listeners = []
        self.closed = False
        self.connect_operation_lock = threading.Lock()
        self.current: ClientConnection | None = None
        self._connected = threading.Condition()
        self._wake = threading.Event()
        self.message_workers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="nzbot-socket")
        self.message_processor = IntervalRunner(self.process_messages, 0.001).start()
        threading.Thread(target=self._watch, name="nzbot-socket-watch", daemon=True).start()

    def is_connected(self) -> bool:
        ws = self.current
        return ws is not None and ws.state is State.OPEN

    def connect(self) -> None:
        url, self.wss_uri = self.wss_uri or self.issue_new_wss_url(), None  # each URL serves once
        opened: Queue = Queue(maxsize=1)  # the open connection, or why it could not open
        threading.Thread(target=self._read, args=(url, opened), name="nzbot-socket-read", daemon=True).start()
        try:
            ws = opened.get(timeout=OPEN_SECONDS + 5)
        except Empty:
            raise TimeoutError("the Socket Mode connection to Slack did not open") from None
        if isinstance(ws, BaseException):
            raise ws
        with self._connected:
            old, self.current = self.current, ws
            self._connected.notify_all()
        if old is not None:  # after the new one reads: nothing Slack sends meanwhile waits
            threading.Thread(target=old.close, name="nzbot-socket-close", daemon=True).start()
        log.info("Connected to Slack in Socket Mode")

    def disconnect(self) -> None:
        ws = self.current
        if ws is not None:
            ws.close()

    def send_message(self, message: str) -> None:
        ws = self.current
        try:
            ws.send(message)  # type: ignore[union-attr]
            return
        except Exception:
            if self.closed:
                raise
        # The connection died under the ack: send it on the next one, still within 3 s.
        deadline = time.monotonic() + ACK_GRACE_SECONDS
        self._wake.set()
        with self._connected:
            while (self.current is ws or not self.is_connected()) and time.monotonic() < deadline:
                self._connected.wait(0.05)
            retry = self.current
        if retry is ws or retry is None:
            raise ConnectionError("no connection to Slack to send an acknowledgement on")
        retry.send(message)

    def close(self) -> None:
        self.closed = True
        self._wake.set()
        self.disconnect()
        self.message_processor.shutdown()
        self.message_workers.shutdown(wait=False)

    def _read(self, url: str, opened: Queue) -> None:
        ws = None
        try:
            with connect(url, ping_interval=self.ping_interval, ping_timeout=self.ping_interval,
                         open_timeout=OPEN_SECONDS, close_timeout=2, compression=None) as ws:
                opened.put(ws)
                for message in ws:
                    self.enqueue_message(message if isinstance(message, str) else message.decode("utf-8"))
        except Exception as exc:  # dropped, reset, or no pong: replaced below
            if ws is None:
                opened.put(exc)
                return
            log.info("The Socket Mode connection to Slack ended: %s", type(exc).__name__)
        if ws is self.current and not self.closed:
            self._wake.set()

    def _watch(self) -> None:
        failures = 0
        while not self.closed:
            # woken by a reader whose connection ended; else a look now and then, or a pause
            # after a failed attempt
            self._wake.wait(RETRY_SECONDS[min(failures - 1, len(RETRY_SECONDS) - 1)] if failures
                            else self.ping_interval)
            if failures == 0 or not self._wake.is_set():
                self._wake.clear()
            if self.closed:
                return
            if self.current is None or self.is_connected():
                continue  # not started yet, or already replaced
            try:
                self.connect_to_new_endpoint()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("Could not reconnect to Slack in Socket Mode (%s); trying again",
                            type(exc).__name__)


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's Socket Mode handler on the client above; `start()` connects and blocks."""

    def __init__(self, app: App, app_token: str, *, ping_interval: float = 10) -> None:
        self.app = app
        self.client = SocketModeClient(app_token, app.client, ping_interval=ping_interval)
        self.client.socket_mode_request_listeners.append(self.handle)

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time.time()
        send_response(client, req, run_bolt_app(self.app, req), start)
