"""nzbot's HTTP endpoint for Slack (HTTP mode).

Bolt's own ``app.start()`` development server answers one request at a time. Slack
expects every slash command, interaction and event to be acknowledged within 3 seconds,
and a busy channel can send dozens at once, so this module serves the Bolt app from a
``http.server.ThreadingHTTPServer`` whose connections are served by a bounded pool of
threads (REQUEST_THREADS), one request a connection, each request handed to
``app.dispatch`` as a :class:`slack_bolt.request.BoltRequest`.

Routes:

- ``POST <path>`` (default ``/slack/events``): the signature and the timestamp are
  checked on the raw bytes before anything parses them (requests without a valid
  signature, with a timestamp that is not a short number, or older than five minutes,
  get 401), then the request is dispatched to Bolt, which answers with the listener's
  ``ack()``.
- ``GET /health``: 200 ``ok``.
- ``GET /healthz``: the bot's status as JSON (nzbot/status.py: the database writable, its
  rounds running, when Alma and Slack last answered, the queues), 200 when healthy, else
  503; when the server is given one (``health``), else 404.
- ``GET|POST /alma/webhook``: Alma's JOB_END webhook (``bot/alma_webhook.py``), when the
  server is given one (NZBOT_ALMA_WEBHOOK_SECRET set); else 404 like any other path.
- anything else: 404 (405 for a wrong method on a known path).

Bodies larger than ``max_body_bytes`` (1 MB by default) are refused with 413 without
being read. Request bodies and headers are never logged: they carry the verification
token, response URLs (which are credentials of their own) and signatures.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Sequence

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from alma.webhooks import SIGNATURE_HEADER
from bot.alma_webhook import WEBHOOK_PATH, AlmaWebhook, Answer

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
HEALTH_PATH = "/health"
STATUS_PATH = "/healthz"

# Bolt's RequestVerification middleware logs the whole raw body (with the verification
# token and the response_url) at INFO when a signature is wrong or stale. Keep it quiet.
_BOLT_LOGGERS_THAT_LOG_BODIES = ("slack_bolt.RequestVerification",)


# A Unix time in seconds has 10 digits until the year 2286; anything much longer is not
# a timestamp (and a 400-digit one overflows float() in the verifier).
_MAX_TIMESTAMP_DIGITS = 12


# Connections are served by this many threads, not a thread each: a burst of Slack's
# requests (a hundred members' commands at once) waits its turn in the backlog, each
# acked in milliseconds, and the process's threads stay bounded however many arrive.
REQUEST_THREADS = 10
# Bolt runs listeners (and waits for their ack()) on app.listener_runner.listener_executor,
# 5 threads by default: fewer than the requests served at once, and acks queue up.
_MIN_LISTENER_WORKERS = REQUEST_THREADS


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Many Slack requests may arrive together; the default backlog of 5 drops connections.
    request_queue_size = 128

    def __init__(self, *args, **kwargs) -> None:
        # before binding: a port already taken closes the server (server_close) at once
        self._requests = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="nzbot-http")
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        self._requests.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._requests.shutdown(wait=False, cancel_futures=True)


def _well_formed(body: object) -> bool:
    """A body Slack could have sent: a form or JSON object, and a button press with at
    least one action (Bolt's own matcher fails on an empty list)."""
    if not isinstance(body, dict):
        return False
    return body.get("type") != "block_actions" or bool(body.get("actions"))


def _signed(verifier: SignatureVerifier | None, body: str, timestamp: str, signature: str) -> bool:
    """Slack's signature over the raw body, checked before any parsing: a hostile body
    (200,000 nested brackets, say) is refused unread."""
    if verifier is None or not signature:
        return False
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return False
    return verifier.is_valid(body, timestamp, signature)


def _make_handler(app: App, path: str, max_body_bytes: int, read_timeout: float,
                  verifier: SignatureVerifier | None, alma_webhook: AlmaWebhook | None = None,
                  health: Callable[[], tuple[bool, dict]] | None = None) -> type:
    class SlackRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nzbot"
        sys_version = ""
        timeout = read_timeout  # a slow or stalled client cannot hold a thread for long

        # -- routing ---------------------------------------------------------------------

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            request_path, _, query = self.path.partition("?")
            if request_path == WEBHOOK_PATH and alma_webhook is not None:
                self._alma_event(alma_webhook)
                return
            if request_path != path:
                self._discard_body()
                self._send(404, "not found")
                return
            body = self._read_body()
            if body is None:
                return  # an error response was already sent
            timestamp = self.headers.get("X-Slack-Request-Timestamp", "")
            if not _signed(verifier, body, timestamp, self.headers.get("X-Slack-Signature", "")):
                # Unsigned as far as Slack's rules go: refused before anything parses it.
                self._send(401, "unauthorized")
                return
            try:
                bolt_request = BoltRequest(body=body, query=query, headers=self._header_lists())
            except (ValueError, AttributeError, TypeError, RecursionError):  # not a JSON payload
                bolt_request = None
            if bolt_request is None or not _well_formed(bolt_request.body):
                self._send(400, "bad request")  # nothing Slack sends; no traceback in the log
                return
            try:
                bolt_response = app.dispatch(bolt_request)
            except Exception:  # never let a listener bug take the connection down silently
                logger.exception("Slack request to %s failed in dispatch", request_path)
                self._send(500, "internal error")
                return
            self._send_bolt_response(bolt_response)

        def do_GET(self) -> None:  # noqa: N802
            request_path = self.path.partition("?")[0]
            if request_path == HEALTH_PATH:
                self._send(200, "ok")
            elif request_path == STATUS_PATH and health is not None:
                healthy, status = health()
                self._send(200 if healthy else 503, json.dumps(status),
                           headers={"Content-Type": ["application/json"]})
            elif request_path == WEBHOOK_PATH and alma_webhook is not None:
                self._send_answer(alma_webhook.challenge(self.path.partition("?")[2]))
            elif request_path == path:
                self._send(405, "method not allowed", headers={"Allow": ["POST"]})
            else:
                self._send(404, "not found")

        def do_HEAD(self) -> None:  # noqa: N802
            request_path = self.path.partition("?")[0]
            self._send(200 if request_path == HEALTH_PATH else 404, "", head=True)

        def _other_method(self) -> None:
            self._discard_body()
            known = (path, HEALTH_PATH, *((WEBHOOK_PATH,) if alma_webhook is not None else ()))
            self._send(405 if self.path.partition("?")[0] in known else 404, "")

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other_method  # noqa: N815

        def _alma_event(self, webhook: AlmaWebhook) -> None:
            raw = self._read_raw()  # the signature is over the bytes as sent
            if raw is None:
                return
            try:
                answer = webhook.event(raw, self.headers.get(SIGNATURE_HEADER, ""))
            except Exception:  # a bug, or the database gone: Alma tries a 5xx again later
                logger.exception("Alma webhook failed")
                answer = Answer(500, "internal error")
            self._send_answer(answer)

        # -- body ------------------------------------------------------------------------

        def _content_length(self) -> int | None:
            raw = self.headers.get("Content-Length")
            if raw is None:
                return None
            try:
                length = int(raw)
            except ValueError:
                return -1
            return length if length >= 0 else -1

        def _read_body(self) -> str | None:
            raw = self._read_raw()
            if raw is None:
                return None
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                self._send(400, "body is not UTF-8")
                return None

        def _read_raw(self) -> bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
                self._send(411, "length required")
                return None
            length = self._content_length()
            if length is None:
                length = 0
            if length < 0:
                self._send(400, "bad content-length")
                return None
            if length > max_body_bytes:
                # Don't read it: answer (every answer closes the connection).
                self._send(413, "request body too large")
                return None
            raw = self.rfile.read(length) if length else b""
            if len(raw) != length:
                self.close_connection = True
                return None  # client went away mid-body; nothing to answer
            return raw

        def _discard_body(self) -> None:
            """Reads a body nobody will use (within the limit), so that closing the
            connection after the answer does not reset it before the client reads it."""
            length = self._content_length()
            if length and 0 < length <= max_body_bytes:
                self.rfile.read(length)

        def _header_lists(self) -> dict[str, list[str]]:
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            return headers

        # -- responses -------------------------------------------------------------------

        def _send_answer(self, answer: Answer) -> None:
            self._send(answer.status, answer.body, headers={"Content-Type": answer.content_type})

        def _send_bolt_response(self, response: BoltResponse) -> None:
            body = response.body
            if not isinstance(body, str):
                body = json.dumps(body)
            self._send(response.status, body, headers=response.headers)

        def _send(
            self,
            status: int,
            body: str,
            *,
            headers: Mapping[str, Sequence[str] | str] | None = None,
            head: bool = False,
        ) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            has_content_type = False
            for name, values in (headers or {}).items():
                lname = name.lower()
                if lname in ("content-length", "connection", "transfer-encoding"):
                    continue
                has_content_type = has_content_type or lname == "content-type"
                for value in [values] if isinstance(values, str) else values:
                    self.send_header(name, value)
            if not has_content_type:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            # One request a connection: an idle kept-alive connection would hold one of the
            # REQUEST_THREADS up to its read timeout while others wait.
            self.close_connection = True
            self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(data)

        # -- logging: the method, the path without its query and the status, nothing else

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            logger.debug(
                "%s %s -> %s", self.command, (self.path or "").partition("?")[0], getattr(code, "value", code)
            )

        def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
            # http.server's own errors (timeouts, malformed request lines); no bodies here.
            logger.info("http: " + format, *args)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            logger.debug("http: " + format, *args)

    return SlackRequestHandler


class SlackHttpServer:
    """Serves a Bolt ``App`` over HTTP, many requests at once.

    ``SlackHttpServer(app, port=0).start()`` binds a free port and serves in a daemon thread
    (for tests); ``serve_forever()`` blocks (for ``nzbot run``). The socket is bound when the
    server is created, so ``url`` and ``port`` are known before ``start()``.
    """

    def __init__(
        self,
        app: App,
        host: str = "0.0.0.0",
        port: int = 3000,
        path: str = "/slack/events",
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = 10.0,
        signing_secret: str | None = None,
        alma_webhook: AlmaWebhook | None = None,
        health: Callable[[], tuple[bool, dict]] | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        self.app = app
        self.host = host
        self.path = path
        self.max_body_bytes = max_body_bytes
        for name in _BOLT_LOGGERS_THAT_LOG_BODIES:
            bolt_logger = logging.getLogger(name)
            if bolt_logger.getEffectiveLevel() < logging.WARNING:
                bolt_logger.setLevel(logging.WARNING)
        self._warn_if_listener_pool_is_small()
        # The app's own signing secret unless told otherwise; without one, every request is 401.
        secret = signing_secret if signing_secret is not None else getattr(app, "_signing_secret", None)
        verifier = SignatureVerifier(secret) if isinstance(secret, str) and secret.strip() else None
        handler = _make_handler(app, path, max_body_bytes, read_timeout, verifier, alma_webhook, health)
        self._httpd = _Server((host, port), handler)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._serving = False

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The events URL, e.g. ``http://127.0.0.1:3000/slack/events``."""
        host = self.host
        if host in ("", "0.0.0.0", "::", "localhost"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{self.path}"

    def start(self) -> "SlackHttpServer":
        """Serves in a daemon thread and returns self."""
        with self._lock:
            if self._closed:
                raise RuntimeError("server was stopped")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._httpd.serve_forever,
                    kwargs={"poll_interval": 0.1},
                    name=f"nzbot-http-{self.port}",
                    daemon=True,
                )
                self._thread.start()
                logger.info("Listening for Slack at %s", self.url)
        return self

    def serve_forever(self) -> None:
        """Serves in the calling thread until ``stop()`` (from another thread) or Ctrl-C."""
        with self._lock:
            if self._closed:
                raise RuntimeError("server was stopped")
            self._serving = True
        logger.info("Listening for Slack on %s:%s%s", self.host, self.port, self.path)
        try:
            self._httpd.serve_forever(poll_interval=0.5)
        finally:
            with self._lock:
                self._serving = False
            self._close()

    def stop(self) -> None:
        """Stops serving and closes the socket. Safe to call more than once."""
        with self._lock:
            thread, self._thread = self._thread, None
            serving = self._serving
        if thread is not None:
            self._httpd.shutdown()
            thread.join(timeout=5)
        elif serving:
            self._httpd.shutdown()  # serve_forever() in another thread returns
        self._close()

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._httpd.server_close()

    def __enter__(self) -> "SlackHttpServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _warn_if_listener_pool_is_small(self) -> None:
        runner = getattr(self.app, "listener_runner", None)
        executor = getattr(runner, "listener_executor", None)
        workers = getattr(executor, "_max_workers", None)
        if isinstance(executor, ThreadPoolExecutor) and workers is not None and workers < _MIN_LISTENER_WORKERS:
            logger.warning(
                "The Bolt app runs listeners on %d threads; slow listeners will delay other "
                "requests' ack() past Slack's 3 s. Pass App(listener_executor=ThreadPoolExecutor(...)) "
                "with more workers, or use lazy listeners.",
                workers,
            )
