"""A local, stateful stand-in for Slack's Web API: the tests' Slack, and the demo's.

    stub = SlackStub(bot_token="xoxb-test",
                     users={"U_PM": {"real_name": "Pat Manager"}},
                     channels={"C_REPORT": {"name": "nz-report"}}).start()
    client = WebClient(token="xoxb-test", base_url=stub.api_url)
    ...
    call = stub.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C_REPORT")
    stub.stop()

It runs a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a daemon thread.

Like Slack it wants ``Authorization: Bearer <token>`` (or a ``token`` argument), answers
HTTP 200 with ``{"ok": false, "error": ...}`` for API errors, and takes arguments as a
query string, a form body (``blocks``/``metadata``/``view``/``attachments`` as JSON strings)
or a JSON body. It keeps state for messages (``chat.postMessage``, ``chat.update``,
``conversations.history``, ``conversations.replies``, ``chat.getPermalink``), ephemeral
messages, users, channels and DMs. Other methods answer ``{"ok": true}``. Every call,
failed or not, is recorded, in order, as a :class:`Call`.

``response_url(name)`` gives a URL on the stub that takes what Bolt's ``respond()`` posts;
those posts are recorded as calls with method ``"response_url"`` (see ``responses()``).

With a :class:`SocketModeSlack` started on it (end of this file), it also answers
``apps.connections.open`` and plays Slack's side of Socket Mode.
"""

from __future__ import annotations

import itertools
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

RESPONSE_URL_METHOD = "response_url"
_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")
_TS_BASE_MICROS = 1_700_000_000_000_000


@dataclass
class Call:
    """One request the stub received."""

    method: str  # "chat.postMessage", ... or "response_url"
    args: dict[str, Any]  # query merged with the form or JSON body; JSON-string fields decoded
    headers: dict[str, str]
    at: float  # time.monotonic() when it arrived
    http_method: str = "POST"
    name: str | None = None  # response URL name, for "response_url" calls
    response: dict[str, Any] | None = None  # what the stub answered
    status: int = 200

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.args.items() if k != "token"}
        text = json.dumps(shown, default=str)
        if len(text) > 200:
            text = text[:197] + "..."
        result = "" if self.response is None else (" ok" if self.ok else f" error={self.response.get('error')}")
        label = self.method if self.name is None else f"{self.method}[{self.name}]"
        return f"<Call {label} {text}{result}>"


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int
    predicate: Callable[[dict[str, Any]], bool] = lambda args: True  # which calls it fails


@dataclass
class _AfterFault:
    """Trouble after a call was carried out: its answer held back, or never sent."""

    method: str
    predicate: Callable[[dict[str, Any]], bool]
    remaining: int
    drop: bool  # close the connection instead of answering
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    user: str | None = None  # for DMs
    members: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackStub:
    def __init__(
        self,
        bot_token: str = "xoxb-test",
        users: dict[str, dict[str, Any]] | None = None,
        channels: dict[str, dict[str, Any]] | None = None,
        *,
        extra_tokens: Iterable[str] = (),
        team_id: str = "T1",
        team_domain: str = "nzbot-test",
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        app_id: str = "A_NZBOT",
    ) -> None:
        self.bot_token = bot_token
        self.tokens = {bot_token, *extra_tokens}
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._initial_users = {uid: dict(u) for uid, u in (users or {}).items()}
        self._initial_channels = {cid: dict(c) for cid, c in (channels or {}).items()}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._response_names = itertools.count(1)
        self.socket_mode: SocketModeSlack | None = None  # set by SocketModeSlack.start()
        self._init_state()

    # ------------------------------------------------------------------ lifecycle

    def _init_state(self) -> None:
        self._calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._after: list[_AfterFault] = []
        self._ts_counter = itertools.count(1)
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        for uid, spec in self._initial_users.items():
            self.add_user(uid, **spec)
        for cid, spec in self._initial_channels.items():
            self.add_channel(cid, **spec)

    def start(self) -> "SlackStub":
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "SlackStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forgets calls, messages, pending failures and users/channels added after creation."""
        with self._lock:
            self._init_state()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackStub is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """For ``WebClient(base_url=...)``; ends with a slash, as slack_sdk expects."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str | None = None) -> str:
        """A URL that records what is POSTed to it (Slack's response_url)."""
        if name is None:
            name = f"r{next(self._response_names)}"
        return f"{self.base_url}/response/{name}"

    # ------------------------------------------------------------------ setup

    def add_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        name = fields.pop("name", user_id.lower())
        real_name = fields.pop("real_name", name.title())
        profile = {
            "real_name": real_name,
            "display_name": name,
            "email": f"{name}@example.org",
            **fields.pop("profile", {}),
        }
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "tz": "Pacific/Auckland",
            "profile": profile,
            **fields,
        }
        with self._lock:
            self._users[user_id] = user
        return user

    def add_channel(self, channel_id: str, **fields: Any) -> None:
        channel = _Channel(
            id=channel_id,
            name=fields.pop("name", channel_id.lower()),
            is_private=bool(fields.pop("is_private", False)),
            is_im=bool(fields.pop("is_im", channel_id.startswith("D"))),
            user=fields.pop("user", None),
            members=list(fields.pop("members", [])),
            extra=fields,
        )
        with self._lock:
            self._channels[channel_id] = channel

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def responses(self, name: str | None = None) -> list[Call]:
        """What was POSTed to response URLs (``args`` is the posted JSON)."""
        return [c for c in self.calls(RESPONSE_URL_METHOD) if name is None or c.name == name]

    def wait_for(
        self, method: str, predicate: Callable[[Call], bool] = lambda call: True, timeout: float = 10
    ) -> Call:
        """The first recorded call of ``method`` matching ``predicate``; waits for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for call in self._calls:
                    if call.method == method and predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.1))
            recorded = "\n  ".join(repr(c) for c in self._calls) or "(none)"
        raise AssertionError(f"no matching {method} call within {timeout}s; recorded calls:\n  {recorded}")

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages (top level and thread replies) in posting order, as updated."""
        with self._lock:
            ch = self._channels.get(self._resolve_channel(channel) or channel)
            if ch is None:
                return []
            return [
                {k: m.get(k) for k in ("ts", "channel", "text", "blocks", "thread_ts", "metadata", "user")}
                for m in ch.messages
            ]

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if channel is None:
                chans = list(self._channels.values())
            else:
                ch = self._channels.get(channel)
                chans = [ch] if ch is not None else []
            return [dict(e) for ch in chans for e in ch.ephemerals]

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: int | None = 1,
        predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
    ) -> None:
        """Makes the next ``times`` calls of ``method`` (whose args match ``predicate``)
        fail with ``error``; nothing of theirs is stored.

        ``status`` defaults to 429 for ``ratelimited`` (with a ``Retry-After`` header) and
        200 otherwise (Slack's usual ``{"ok": false, "error": ...}``).
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(error, status, retry_after if status == 429 else None, times, predicate)
            )

    def enforce_rate_limit(self, posts_per_second: float = 1.0, burst: int = 3,
                           methods: Iterable[str] = ("chat.postMessage",)) -> None:
        """Refuses posts beyond Slack's pace as Slack does: about one a second per channel,
        short bursts allowed, then HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with
        ``Retry-After`` (whole seconds). https://api.slack.com/apis/rate-limits"""
        with self._lock:
            self._rate = (posts_per_second, burst, frozenset(methods))
            self._buckets: dict[str, tuple[float, float]] = {}  # channel: (tokens, when)

    def _rate_limited(self, call: Call) -> int | None:
        """Seconds to wait when this call is over the enforced rate, else None."""
        rate = getattr(self, "_rate", None)
        if rate is None or call.method not in rate[2]:
            return None
        per_second, burst, _ = rate
        channel = str(call.args.get("channel") or "")
        now = time.monotonic()
        tokens, when = self._buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - when) * per_second)
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            return max(1, int(-(-(1.0 - tokens) // per_second)))
        self._buckets[channel] = (tokens - 1.0, now)
        return None

    def clear_failures(self) -> None:
        """Forgets failures set with fail_next() that have not been used up."""
        with self._lock:
            self._failures.clear()

    def hold_answers(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
                     *, times: int = 1) -> threading.Event:
        """The next ``times`` calls of ``method`` whose args match ``predicate`` are carried
        out (a posted message is stored) but answered only once the returned event is set:
        a bot killed meanwhile never learns the message's ts."""
        fault = _AfterFault(method, predicate, times, drop=False)
        with self._lock:
            self._after.append(fault)
        return fault.release

    def drop_answers(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
                     *, times: int = 1) -> None:
        """The next ``times`` matching calls of ``method`` are carried out, then their
        connection is closed with no answer: a network drop after Slack stored the message."""
        with self._lock:
            self._after.append(_AfterFault(method, predicate, times, drop=True))

    def _take_after(self, call: Call) -> _AfterFault | None:
        with self._lock:
            if not call.ok:
                return None
            for fault in self._after:
                if fault.method == call.method and fault.remaining > 0 and fault.predicate(call.args):
                    fault.remaining -= 1
                    return fault
        return None

    # ------------------------------------------------------------------ request handling

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _take_failure(self, method: str, args: dict[str, Any]) -> _Failure | None:
        queue = self._failures.get(method)
        failure = next((f for f in queue or () if f.predicate(args)), None)
        if failure is None:
            return None
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.remove(failure)
        return failure

    def _handle_api(self, call: Call, auth_header: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            token = None
            if auth_header and auth_header.lower().startswith("bearer "):
                token = auth_header[7:].strip()
            elif isinstance(call.args.get("token"), str):
                token = call.args["token"]
            if call.method == APPS_CONNECTIONS_OPEN and self.socket_mode is not None:
                refusal = self.socket_mode.refusal(token, call)  # wants the app-level token
                if refusal is not None:
                    return 200, refusal, {}
            elif not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            elif token not in self.tokens:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            failure = self._take_failure(call.method, call.args)
            if failure is not None:
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                return failure.status, {"ok": False, "error": failure.error}, headers
            wait = self._rate_limited(call)
            if wait is not None:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
            handler = _API_METHODS.get(call.method)
            if handler is None:
                return 200, {"ok": True}, {}
            return 200, handler(self, call.args), {}

    # ------------------------------------------------------------------ state helpers

    def _next_ts(self) -> str:
        micros = _TS_BASE_MICROS + 100 * next(self._ts_counter)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve_channel(self, channel: Any) -> str | None:
        """Channel id for an id, a name (with or without '#'), or a user id (their DM)."""
        if not isinstance(channel, str) or not channel:
            return None
        if channel in self._channels:
            return channel
        if channel in self._users:
            return self._open_dm(channel)
        name = channel.lstrip("#")
        for ch in self._channels.values():
            if ch.name == name and not ch.is_im:
                return ch.id
        return None

    def _open_dm(self, user_id: str) -> str:
        dm_id = "D" + user_id.lstrip("U").lstrip("_")
        if dm_id not in self._channels:
            self._channels[dm_id] = _Channel(
                id=dm_id, name=dm_id, is_im=True, user=user_id, members=[user_id, self.bot_user_id]
            )
        return dm_id

    def _find_message(self, ch: _Channel, ts: Any) -> dict[str, Any] | None:
        for message in ch.messages:
            if message["ts"] == ts:
                return message
        return None

    def _render(self, ch: _Channel, message: dict[str, Any], with_metadata: bool = True) -> dict[str, Any]:
        out = {
            "type": "message",
            "ts": message["ts"],
            "text": message["text"],
            "user": message["user"],
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
        }
        if message.get("blocks") is not None:
            out["blocks"] = message["blocks"]
        if message.get("attachments") is not None:
            out["attachments"] = message["attachments"]
        if message.get("thread_ts"):
            out["thread_ts"] = message["thread_ts"]
            out["parent_user_id"] = message.get("parent_user_id")
        replies = [m for m in ch.messages if m.get("thread_ts") == message["ts"] and m is not message]
        if replies:
            out["thread_ts"] = message["ts"]
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({r["user"] for r in replies})
            out["latest_reply"] = replies[-1]["ts"]
        if message.get("edited"):
            out["edited"] = message["edited"]
        if with_metadata and message.get("metadata") is not None:
            out["metadata"] = message["metadata"]
        return out


def _page(items: list[Any], args: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
    try:
        start = int(args.get("cursor") or 0)
    except ValueError:
        start = 0
    try:
        limit = int(args.get("limit") or default_limit)
    except ValueError:
        limit = default_limit
    limit = max(1, min(limit, 1000))
    page = items[start : start + limit]
    next_cursor = str(start + limit) if start + limit < len(items) else ""
    return page, next_cursor


def _error(error: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **extra}


MAX_BLOCKS = 50  # Slack refuses a message of more blocks: invalid_blocks (Block Kit reference)


def _too_many_blocks(args: dict[str, Any]) -> dict[str, Any] | None:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return _error("invalid_blocks_format")
    if isinstance(blocks, list) and len(blocks) > MAX_BLOCKS:
        return _error("invalid_blocks", errors=[f"must be less than {MAX_BLOCKS + 1} items [json-pointer:/blocks]"])
    return None


# ---------------------------------------------------------------------- API methods


def _chat_post_message(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    channel_id = stub._resolve_channel(args.get("channel"))
    if channel_id is None:
        return _error("channel_not_found")
    if not any(args.get(k) for k in ("text", "blocks", "attachments")):
        return _error("no_text")
    if _too_many_blocks(args):
        return _too_many_blocks(args)
    ch = stub._channels[channel_id]
    thread_ts = args.get("thread_ts") or None
    parent = None
    if thread_ts is not None:
        parent = stub._find_message(ch, thread_ts)
        if parent is not None and parent.get("thread_ts"):
            thread_ts = parent["thread_ts"]  # replying to a reply lands in the same thread
    message = {
        "ts": stub._next_ts(),
        "channel": channel_id,
        "text": args.get("text", ""),
        "blocks": args.get("blocks"),
        "attachments": args.get("attachments"),
        "thread_ts": thread_ts,
        "parent_user_id": parent["user"] if parent else None,
        "metadata": args.get("metadata"),
        "user": stub.bot_user_id,
    }
    ch.messages.append(message)
    return {"ok": True, "channel": channel_id, "ts": message["ts"], "message": stub._render(ch, message)}


def _message_in(stub: SlackStub, args: dict[str, Any], ts_key: str = "ts",
                missing: str = "message_not_found"):
    """(channel id, channel, message) named by args' channel and ts, or Slack's error."""
    channel_id = stub._resolve_channel(args.get("channel"))
    if channel_id is None:
        return _error("channel_not_found")
    ch = stub._channels[channel_id]
    message = stub._find_message(ch, args.get(ts_key))
    if message is None:
        return _error(missing)
    return channel_id, ch, message


def _chat_update(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    found = _message_in(stub, args)
    if isinstance(found, dict):
        return found
    channel_id, ch, message = found
    if not any(k in args for k in ("text", "blocks", "attachments")):
        return _error("no_text")
    if _too_many_blocks(args):
        return _too_many_blocks(args)
    for key in ("text", "blocks", "attachments", "metadata"):
        if key in args:
            message[key] = args[key]
    message["edited"] = {"user": stub.bot_user_id, "ts": stub._next_ts()}
    return {
        "ok": True,
        "channel": channel_id,
        "ts": message["ts"],
        "text": message["text"],
        "message": stub._render(ch, message),
    }


def _chat_delete(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    found = _message_in(stub, args)
    if isinstance(found, dict):
        return found
    channel_id, ch, message = found
    ch.messages.remove(message)
    return {"ok": True, "channel": channel_id, "ts": message["ts"]}


def _chat_post_ephemeral(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    channel_id = stub._resolve_channel(args.get("channel"))
    if channel_id is None:
        return _error("channel_not_found")
    if args.get("user") not in stub._users:
        return _error("user_not_found")
    if not any(args.get(k) for k in ("text", "blocks", "attachments")):
        return _error("no_text")
    ts = stub._next_ts()
    stub._channels[channel_id].ephemerals.append(
        {
            "ts": ts,
            "channel": channel_id,
            "user": args["user"],
            "text": args.get("text", ""),
            "blocks": args.get("blocks"),
            "thread_ts": args.get("thread_ts"),
        }
    )
    return {"ok": True, "message_ts": ts}


def _chat_get_permalink(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    found = _message_in(stub, args, ts_key="message_ts")
    if isinstance(found, dict):
        return found
    channel_id, _, message = found
    link = f"https://{stub.team_domain}.slack.com/archives/{channel_id}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts"):
        link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
    return {"ok": True, "channel": channel_id, "permalink": link}


def _conversations_history(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    channel_id = stub._resolve_channel(args.get("channel"))
    if channel_id is None:
        return _error("channel_not_found")
    ch = stub._channels[channel_id]
    with_metadata = _truthy(args.get("include_all_metadata"))
    inclusive = _truthy(args.get("inclusive"))
    oldest, latest = args.get("oldest"), args.get("latest")

    def in_range(ts: str) -> bool:
        if oldest and (float(ts) < float(oldest) or (not inclusive and ts == oldest)):
            return False
        if latest and (float(ts) > float(latest) or (not inclusive and ts == latest)):
            return False
        return True

    top = [m for m in ch.messages if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
    items = [stub._render(ch, m, with_metadata) for m in reversed(top) if in_range(m["ts"])]
    return _messages_page(items, args, 100)


def _messages_page(items: list[Any], args: dict[str, Any], default_limit: int) -> dict[str, Any]:
    """One page of conversations.history or conversations.replies, as Slack answers it."""
    page, cursor = _page(items, args, default_limit)
    return {"ok": True, "messages": page, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}


def _conversations_replies(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    found = _message_in(stub, args, missing="thread_not_found")
    if isinstance(found, dict):
        return found
    channel_id, ch, message = found
    parent_ts = message.get("thread_ts") or message["ts"]
    parent = stub._find_message(ch, parent_ts)
    with_metadata = _truthy(args.get("include_all_metadata"))
    thread = ([parent] if parent else []) + [
        m for m in ch.messages if m.get("thread_ts") == parent_ts and m["ts"] != parent_ts
    ]
    items = [stub._render(ch, m, with_metadata) for m in thread]
    return _messages_page(items, args, 1000)


def _channel_info(stub: SlackStub, ch: _Channel) -> dict[str, Any]:
    info = {
        "id": ch.id,
        "name": ch.name,
        "is_channel": not ch.is_im and not ch.is_private,
        "is_group": ch.is_private,
        "is_im": ch.is_im,
        "is_private": ch.is_private or ch.is_im,
        "is_archived": False,
        "is_member": True,
        "context_team_id": stub.team_id,
        "num_members": len(ch.members),
    }
    if ch.is_im:
        info["user"] = ch.user
    info.update(ch.extra)
    return info


def _conversations_info(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    channel_id = stub._resolve_channel(args.get("channel"))
    if channel_id is None:
        return _error("channel_not_found")
    return {"ok": True, "channel": _channel_info(stub, stub._channels[channel_id])}


def _conversations_members(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    channel_id = stub._resolve_channel(args.get("channel"))
    if channel_id is None:
        return _error("channel_not_found")
    page, cursor = _page(list(stub._channels[channel_id].members), args, 100)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


def _conversations_open(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("channel"):
        channel_id = stub._resolve_channel(args["channel"])
        if channel_id is None:
            return _error("channel_not_found")
        return {"ok": True, "channel": {"id": channel_id}}
    users = args.get("users")
    if isinstance(users, list):
        users = ",".join(users)
    ids = [u.strip() for u in (users or "").split(",") if u.strip()]
    if not ids:
        return _error("users_list_not_supplied")
    for uid in ids:
        if uid not in stub._users:
            return _error("user_not_found")
    if len(ids) == 1:
        dm_id = stub._open_dm(ids[0])
    else:  # a group DM
        dm_id = "G" + "_".join(u.lstrip("U").lstrip("_") for u in sorted(ids))
        if dm_id not in stub._channels:
            stub._channels[dm_id] = _Channel(
                id=dm_id, name=dm_id, is_private=True, members=[*sorted(ids), stub.bot_user_id]
            )
    return {"ok": True, "channel": {"id": dm_id}}


def _users_info(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    user = stub._users.get(args.get("user"))
    if user is None:
        return _error("user_not_found")
    return {"ok": True, "user": json.loads(json.dumps(user))}


def _auth_test(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "url": f"https://{stub.team_domain}.slack.com/",
        "team": "nzbot test",
        "user": "nzbot",
        "team_id": stub.team_id,
        "user_id": stub.bot_user_id,
        "bot_id": stub.bot_id,
        "app_id": stub.app_id,
        "is_enterprise_install": False,
    }


_API_METHODS: dict[str, Callable[[SlackStub, dict[str, Any]], dict[str, Any]]] = {
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.delete": _chat_delete,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.getPermalink": _chat_get_permalink,
    "conversations.history": _conversations_history,
    "conversations.replies": _conversations_replies,
    "conversations.info": _conversations_info,
    "conversations.members": _conversations_members,
    "conversations.open": _conversations_open,
    "users.info": _users_info,
    "auth.test": _auth_test,
    "apps.connections.open": lambda stub, args: (
        stub.socket_mode.connections_open() if stub.socket_mode is not None
        else _error("not_allowed_token_type")),
}


# ---------------------------------------------------------------------- HTTP


def _parse_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        args[key] = values[-1]
    text = body.decode("utf-8", errors="replace") if body else ""
    ctype = content_type.split(";")[0].strip().lower()
    if text:
        if ctype == "application/json":
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                args.update(parsed)
            else:
                args["_invalid_json"] = text
        else:
            for key, values in parse_qs(text, keep_blank_values=True).items():
                args[key] = values[-1]
    for key in _JSON_FIELDS:
        if key in args:
            args[key] = _maybe_json(args[key])
    return args


def _make_handler(stub: SlackStub) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def _handle(self, http_method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            at = time.monotonic()
            if parts.path.startswith("/api/"):
                method = parts.path[len("/api/") :]
                args = _parse_args(parts.query, body, self.headers.get("Content-Type", ""))
                call = Call(method=method, args=args, headers=headers, at=at, http_method=http_method)
                status, payload, extra_headers = stub._handle_api(call, self.headers.get("Authorization"))
                call.response, call.status = payload, status
                stub._record(call)
                after = stub._take_after(call)
                if after is not None and after.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if after is not None:
                    after.release.wait(60)
                try:
                    self._send(status, json.dumps(payload), "application/json; charset=utf-8", extra_headers)
                except OSError:  # the caller went away while its answer was held
                    self.close_connection = True
            elif parts.path.startswith("/response/") and http_method == "POST":
                name = parts.path[len("/response/") :]
                args = _parse_args("", body, self.headers.get("Content-Type", "application/json"))
                if "payload" in args:  # form-encoded payload=<json>, as some clients send
                    args = _maybe_json(args["payload"]) if isinstance(args["payload"], str) else args
                call = Call(
                    method=RESPONSE_URL_METHOD,
                    args=args,
                    headers=headers,
                    at=at,
                    http_method=http_method,
                    name=name,
                    response={"ok": True},
                )
                stub._record(call)
                self._send(200, "ok", "text/plain; charset=utf-8", {})
            else:
                self._send(404, "not found", "text/plain; charset=utf-8", {})

        def _send(self, status: int, body: str, content_type: str, extra: dict[str, str]) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


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

APPS_CONNECTIONS_OPEN = "apps.connections.open"
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
        from nzbot.demo.slack_requests import slash_command_body

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
        from nzbot.demo.slack_requests import block_action_payload

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
