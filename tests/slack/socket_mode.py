"""Slack's side of Socket Mode, for the tests and the ack benchmark: a WebSocket server the
bot connects to, attached to the Slack stand-in (its apps.connections.open). Not shipped:
the demo runs in HTTP mode."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import parse_qs, urlsplit

from bot.demo.local_slack import Call, SlackStub, _error

# ---------------------------------------------------------------------- Socket Mode
#
# Slack's side of Socket Mode, after Slack's "Socket Mode implementation" guide
# (api.slack.com/apis/connections/socket-implement) and the envelopes Slack's SDKs parse
# (slack_sdk.socket_mode.request.SocketModeRequest):
#
#   apps.connections.open (app-level token xapp-…, in the Authorization header only)
#       -> {"ok": true, "url": "wss://…/link/?ticket=…&app_id=…"}, a one-time URL
#   on connecting: {"type": "hello", "num_connections": N, "debug_info": {…},
#                   "connection_info": {"app_id": …}}
#   each delivery: {"envelope_id": …, "type": "slash_commands" | "interactive" |
#                   "events_api", "payload": {…}, "accepts_response_payload": bool}
#                   (events_api envelopes also carry "retry_attempt" and "retry_reason")
#   the app acks with {"envelope_id": …} (+ "payload" for an immediate answer) within 3 s;
#   the stand-in takes an ack on any of the app's connections, as slack_sdk's clients send
#   acks on their newest one (not confirmed against Slack)
#   {"type": "disconnect", "reason": "refresh_requested" | "warning" | "link_disabled",
#    "debug_info": {"host": …}}: the app should open a new connection; Slack closes the
#   old one a little later.
#
# Slack retries an Events API envelope that was not acked in time as a new envelope with
# retry_attempt 1, 2, 3 and retry_reason "timeout" (seen in slackapi/python-slack-events-api
# issue 93); an unacked slash command or button press is not retried (the user sees
# "operation_timeout"). ``retry_kinds`` makes the stand-in retry other kinds as well, the
# worst case of a duplicate delivery, to prove the bot acts once.

SOCKET_ACK_SECONDS = 3.0


@dataclass
class Envelope:
    """One delivery over the socket, as Slack frames it."""

    type: str  # "slash_commands", "interactive", "events_api"
    envelope_id: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""
    first_id: str = ""  # envelope_id of the first delivery of this payload
    sent_at: float | None = None  # time.monotonic(); None while no connection took it
    connection: int | None = None  # number of the connection that carried it
    timed_out: bool = False  # not acked within SOCKET_ACK_SECONDS
    lose_ack: bool = field(default=False, repr=False)  # see SocketModeSlack.send

    def frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            frame["retry_attempt"] = self.retry_attempt
            frame["retry_reason"] = self.retry_reason
        return frame


@dataclass
class Ack:
    """What the app sent back for an envelope."""

    envelope: Envelope
    payload: dict[str, Any] | None  # the immediate answer, if any
    at: float  # time.monotonic() when it arrived
    connection: int

    @property
    def seconds(self) -> float:
        """How long after the envelope was sent the ack came."""
        return self.at - (self.envelope.sent_at or self.at)


@dataclass
class SocketConnection:
    number: int  # 1, 2, …: in the order the app connected
    ticket: str
    opened_at: float
    closed_at: float | None = None
    closed_by: str | None = None  # "app", "slack" (a close frame) or "dropped"
    ws: Any = field(default=None, repr=False)
    slack_closing: bool = field(default=False, repr=False)

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SocketModeSlack:
    """Slack's side of Socket Mode for a :class:`SlackStub`: answers
    ``apps.connections.open`` and serves the WebSocket it names (the ``websockets``
    library's threaded server, on 127.0.0.1, a free port).

        socket = SocketModeSlack(stub, app_token="xapp-1-test").start()
        socket.wait_connected()                    # the app has connected and got hello
        env = socket.send_slash_command("/nz", "help", user_id="U1", channel_id="C1")
        ack = socket.wait_ack(env)                 # ack.seconds, ack.payload
        socket.disconnect("refresh_requested")     # the app should reconnect
        socket.drop()                              # the TCP connection dies, no close frame
        socket.stop()
    """

    def __init__(self, stub: SlackStub, app_token: str, *,
                 ack_seconds: float = SOCKET_ACK_SECONDS,
                 retry_kinds: Iterable[str] = ("events_api",), max_retries: int = 3,
                 close_after_disconnect: float = 10.0) -> None:
        self.stub = stub
        self.app_token = app_token
        self.ack_seconds = ack_seconds
        self.retry_kinds = tuple(retry_kinds)
        self.max_retries = max_retries
        self.close_after_disconnect = close_after_disconnect
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._tickets: set[str] = set()  # issued and not yet used
        self._connections: list[SocketConnection] = []
        self._envelopes: list[Envelope] = []
        self._acks: list[Ack] = []
        self._unknown_acks: list[dict[str, Any]] = []
        self._lost_acks: list[Ack] = []
        self._ids = itertools.count(1)
        self._server: Any = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> "SocketModeSlack":
        from websockets.sync.server import serve

        self.stub.socket_mode = self
        self._server = serve(self._serve_connection, "127.0.0.1", 0,
                             process_request=self._check_ticket, compression=None)
        for target, name in ((self._server.serve_forever, "slack-socket"),
                             (self._watch_acks, "slack-socket-acks")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        for conn in self.connections():
            if conn.open and conn.ws is not None:
                conn.ws.close_socket()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if getattr(self.stub, "socket_mode", None) is self:
            self.stub.socket_mode = None

    @property
    def port(self) -> int:
        return self._server.socket.getsockname()[1]

    # -- what Slack's Web API answers ---------------------------------------------------

    def refusal(self, token: str | None, call: Call) -> dict[str, Any] | None:
        """Why apps.connections.open is refused, if it is: it takes the app-level token,
        in the Authorization header only."""
        if "token" in call.args or not token:
            return _error("not_authed")  # Slack refuses the app token as a POST parameter
        if not token.startswith("xapp-"):
            return _error("not_allowed_token_type")
        if token != self.app_token:
            return _error("invalid_auth")
        return None

    def connections_open(self) -> dict[str, Any]:
        """apps.connections.open: a one-time URL for a new connection."""
        ticket = f"{secrets.token_hex(8)}-{next(self._ids)}"
        with self._lock:
            self._tickets.add(ticket)
        return {"ok": True,
                "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.stub.app_id}"}

    # -- inspection -----------------------------------------------------------------------

    def connections(self) -> list[SocketConnection]:
        with self._lock:
            return list(self._connections)

    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections() if c.open]

    def envelopes(self, first_id: str | None = None) -> list[Envelope]:
        """Every delivery, in order; with ``first_id``, those of one payload (retries too)."""
        with self._lock:
            return [e for e in self._envelopes if first_id is None or e.first_id == first_id]

    def acks(self, envelope: Envelope | None = None) -> list[Ack]:
        with self._lock:
            return [a for a in self._acks if envelope is None or a.envelope is envelope]

    def lost_acks(self) -> list[Ack]:
        """Acks the app sent that never reached Slack (``lose_ack``)."""
        with self._lock:
            return list(self._lost_acks)

    def unknown_acks(self) -> list[dict[str, Any]]:
        """Messages from the app that acked no envelope Slack sent (should stay empty)."""
        with self._lock:
            return list(self._unknown_acks)

    def wait_connected(self, count: int = 1, timeout: float = 20) -> SocketConnection:
        """Waits until the app has made ``count`` connections and the last is open."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if len(self._connections) >= count and self._connections[-1].open:
                    return self._connections[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the app did not make connection {count} within {timeout}s; "
                                         f"connections: {self._connections}")
                self._changed.wait(min(left, 0.1))

    def wait_closed(self, connection: SocketConnection, timeout: float = 20) -> SocketConnection:
        deadline = time.monotonic() + timeout
        with self._changed:
            while connection.open:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"connection {connection.number} still open after {timeout}s")
                self._changed.wait(min(left, 0.1))
        return connection

    def wait_ack(self, envelope: Envelope, timeout: float = 10) -> Ack:
        """The ack of ``envelope`` or of a retry of it; waits for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for ack in self._acks:
                    if ack.envelope.first_id == envelope.first_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for envelope {envelope.envelope_id} within {timeout}s; "
                                         f"deliveries: {self.envelopes(envelope.first_id)}")
                self._changed.wait(min(left, 0.1))

    # -- Slack's side of the socket ---------------------------------------------------------

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False,
             then_drop: bool = False, lose_ack: bool = False) -> Envelope:
        """Delivers ``payload`` over the newest open connection; with none open it fails, as
        Slack does. ``then_drop``: the connection dies right after, before the app can ack;
        ``lose_ack``: it dies as the app's ack arrives, so the app acted but Slack never
        heard (the ack is kept in ``lost_acks()``)."""
        envelope_id = self._new_envelope_id()
        envelope = Envelope(kind, envelope_id, payload, accepts_response_payload, first_id=envelope_id,
                            lose_ack=lose_ack)
        with self._lock:
            self._envelopes.append(envelope)
        try:
            conn = self._deliver(envelope, timeout=0)  # Slack tells the user dispatch_failed
        except AssertionError:
            with self._lock:
                self._envelopes.remove(envelope)
            raise
        if then_drop and conn is not None:
            self._drop(conn, reset=True)
        return envelope

    def send_slash_command(self, command: str, text: str, *, user_id: str, channel_id: str,
                           response_url: str, then_drop: bool = False, lose_ack: bool = False,
                           **fields: str) -> Envelope:
        """A slash command; the payload holds the fields of the HTTP form, as strings."""
        from bot.demo.slack_requests import slash_command_body

        form = slash_command_body(text, command=command, user_id=user_id, channel_id=channel_id,
                                  response_url=response_url, team_id=self.stub.team_id,
                                  team_domain=self.stub.team_domain, api_app_id=self.stub.app_id,
                                  **fields)
        payload = {k: v[-1] for k, v in parse_qs(form, keep_blank_values=True).items()}
        return self.send("slash_commands", payload, accepts_response_payload=True, then_drop=then_drop,
                         lose_ack=lose_ack)

    def send_block_action(self, action_id: str, value: str, *, then_drop: bool = False,
                          lose_ack: bool = False, **fields: Any) -> Envelope:
        """A button press (block_actions); ``fields`` as for ``block_action_payload``."""
        from bot.demo.slack_requests import block_action_payload

        payload = block_action_payload(action_id, value, team_id=self.stub.team_id,
                                       api_app_id=self.stub.app_id, **fields)
        return self.send("interactive", payload, then_drop=then_drop, lose_ack=lose_ack)

    def disconnect(self, reason: str = "refresh_requested") -> SocketConnection:
        """Tells the app on the newest connection to reconnect; that connection is closed
        ``close_after_disconnect`` seconds later if the app has not closed it."""
        conn = self._newest_open()
        if conn is None:
            raise AssertionError("no open connection to send a disconnect to")
        conn.ws.send(json.dumps({"type": "disconnect", "reason": reason,
                                 "debug_info": {"host": f"applink-local-{conn.number}"}}))

        def close_later() -> None:
            if not self._stopping.wait(self.close_after_disconnect) and conn.open:
                conn.slack_closing = True
                conn.ws.close()

        threading.Thread(target=close_later, name="slack-socket-close", daemon=True).start()
        return conn

    def drop(self, *, reset: bool = True) -> SocketConnection:
        """The newest connection dies without a close frame: a reset (RST), or with
        ``reset=False`` a bare FIN, as when a proxy or Slack's host goes away."""
        conn = self._newest_open()
        if conn is None:
            raise AssertionError("no open connection to drop")
        self._drop(conn, reset=reset)
        return conn

    def stall(self) -> SocketConnection:
        """The newest connection goes silent without closing (a half-open TCP connection, a
        proxy that stopped forwarding): nothing is read, sent or answered, pings included,
        until ``stop()``."""
        conn = self._newest_open()
        if conn is None:
            raise AssertionError("no open connection to stall")
        held = threading.Event()

        def hold() -> None:  # websockets does all I/O of a connection under this lock
            with conn.ws.protocol_mutex:
                held.set()
                self._stopping.wait()

        threading.Thread(target=hold, name="slack-socket-stall", daemon=True).start()
        held.wait(5)
        return conn

    # -- internals ---------------------------------------------------------------------------

    def _new_envelope_id(self) -> str:
        return f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{next(self._ids):04d}-{secrets.token_hex(6)}"

    def _newest_open(self) -> SocketConnection | None:
        with self._lock:
            for conn in reversed(self._connections):
                if conn.open and conn.ws is not None:
                    return conn
        return None

    def _deliver(self, envelope: Envelope, timeout: float = 20) -> SocketConnection | None:
        deadline = time.monotonic() + timeout
        while not self._stopping.is_set():
            conn = self._newest_open()
            if conn is not None:
                with self._lock:
                    envelope.sent_at, envelope.connection = time.monotonic(), conn.number
                try:
                    conn.ws.send(json.dumps(envelope.frame()))
                    return conn
                except Exception:  # closed under us: wait for the next connection
                    with self._lock:
                        envelope.sent_at = envelope.connection = None
            if time.monotonic() > deadline:
                raise AssertionError(f"no open connection to deliver {envelope.type} within {timeout}s")
            time.sleep(0.02)
        return None

    def _drop(self, conn: SocketConnection, *, reset: bool) -> None:
        import socket as sockets
        import struct

        sock = conn.ws.socket
        try:
            if reset:
                sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(sockets.SHUT_RDWR)
        except OSError:
            pass
        self._closed(conn, "dropped")
        conn.ws.close_socket()

    def _closed(self, conn: SocketConnection, by: str) -> None:
        with self._changed:
            if conn.closed_at is None:
                conn.closed_at, conn.closed_by = time.monotonic(), by
                self._changed.notify_all()

    def _check_ticket(self, ws: Any, request: Any) -> Any:
        query = parse_qs(urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            if ticket not in self._tickets:
                return ws.respond(401, "invalid or used ticket: call apps.connections.open\n")
            self._tickets.discard(ticket)
        ws.ticket = ticket
        return None

    def _serve_connection(self, ws: Any) -> None:
        with self._changed:
            conn = SocketConnection(len(self._connections) + 1, ws.ticket, time.monotonic(), ws=ws)
            self._connections.append(conn)
            hello = {"type": "hello", "num_connections": len(self.open_connections()),
                     "debug_info": {"host": f"applink-local-{conn.number}", "build_number": 1,
                                    "approximate_connection_time": 18060},
                     "connection_info": {"app_id": self.stub.app_id}}
            ws.send(json.dumps(hello))
            self._changed.notify_all()
        try:
            for message in ws:
                self._received(conn, message)
        except Exception:
            pass  # the connection died; recorded below
        finally:
            by = "slack" if conn.slack_closing else "app" if ws.protocol.close_rcvd is not None else "dropped"
            self._closed(conn, by)

    def _received(self, conn: SocketConnection, message: Any) -> None:
        try:
            ack = json.loads(message)
        except ValueError:
            ack = {"_not_json": message}
        with self._changed:
            envelope = next((e for e in self._envelopes
                             if isinstance(ack, dict) and e.envelope_id == ack.get("envelope_id")), None)
            lose = envelope is not None and envelope.lose_ack
            if envelope is None:
                self._unknown_acks.append(ack if isinstance(ack, dict) else {"_value": ack})
            elif lose:
                envelope.lose_ack = False
                self._lost_acks.append(Ack(envelope, ack.get("payload"), time.monotonic(), conn.number))
            else:
                self._acks.append(Ack(envelope, ack.get("payload"), time.monotonic(), conn.number))
            self._changed.notify_all()
        if lose:
            self._drop(conn, reset=True)

    def _watch_acks(self) -> None:
        """Marks envelopes not acked in time, and retries those of ``retry_kinds``."""
        while not self._stopping.wait(0.05):
            now_ = time.monotonic()
            retries: list[Envelope] = []
            with self._lock:
                acked = {a.envelope.envelope_id for a in self._acks}
                for env in self._envelopes:
                    if (env.timed_out or env.sent_at is None or env.envelope_id in acked
                            or now_ - env.sent_at < self.ack_seconds):
                        continue
                    env.timed_out = True
                    first_acked = any(a.envelope.first_id == env.first_id for a in self._acks)
                    if env.type in self.retry_kinds and env.retry_attempt < self.max_retries \
                            and not first_acked:
                        retry_id = self._new_envelope_id()
                        retry = Envelope(env.type, retry_id, env.payload, env.accepts_response_payload,
                                         env.retry_attempt + 1, "timeout", first_id=env.first_id)
                        self._envelopes.append(retry)
                        retries.append(retry)
            for retry in retries:
                threading.Thread(target=self._deliver, args=(retry,), name="slack-socket-retry",
                                 daemon=True).start()
