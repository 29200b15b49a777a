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
messages, users, channels and DMs, and modals (``views.open``, ``views.update``). Other
methods answer ``{"ok": true}``. Every call, failed or not, is recorded, in order, as a
:class:`Call`.

``response_url(name)`` gives a URL on the stub that takes what Bolt's ``respond()`` posts;
those posts are recorded as calls with method ``"response_url"`` (see ``responses()``).

The tests' own subclass (tests/slack/faults.py) plays Slack's failures at one seam
(``_fault_before``, ``_fault_after``); with the tests' ``SocketModeSlack``
(tests/slack/socket_mode.py) started on it, it also answers ``apps.connections.open`` and
plays Slack's side of Socket Mode. Neither ships: the demo's Slack never fails.
"""

from __future__ import annotations

import itertools
import json
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


class _SlackServer(ThreadingHTTPServer):
    """Takes every connection of a burst, as Slack does: socketserver's backlog of 5 drops
    SYNs, which the bot would see as stalls of a second and more that Slack never causes."""

    daemon_threads = True
    request_queue_size = 1024


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
        self.socket_mode: Any = None  # Slack's side of Socket Mode, in the tests (tests/slack/socket_mode.py)
        self._init_state()

    # ------------------------------------------------------------------ lifecycle

    def _init_state(self) -> None:
        self._calls: list[Call] = []
        self._ts_counter = itertools.count(1)
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        self._views: dict[str, dict[str, Any]] = {}  # open modals by view id, as last opened or updated
        self._view_ids = itertools.count(1)
        for uid, spec in self._initial_users.items():
            self.add_user(uid, **spec)
        for cid, spec in self._initial_channels.items():
            self.add_channel(cid, **spec)

    def start(self) -> "SlackStub":
        if self._server is not None:
            return self
        self._server = _SlackServer(("127.0.0.1", 0), _make_handler(self))
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

    def views(self) -> list[dict[str, Any]]:
        """The modals opened (views.open), each as last updated (views.update), oldest first."""
        with self._lock:
            return [json.loads(json.dumps(v)) for v in self._views.values()]

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if channel is None:
                chans = list(self._channels.values())
            else:
                ch = self._channels.get(channel)
                chans = [ch] if ch is not None else []
            return [dict(e) for ch in chans for e in ch.ephemerals]

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

    # ------------------------------------------------------------------ request handling

    # The seam where the tests' stand-in (tests/slack/faults.py) plays Slack's failures; the
    # demo's Slack never fails.
    def _fault_before(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """(status, answer, headers) of a refusal instead of carrying `call` out; None: carry it out."""
        return None

    def _fault_after(self, call: Call) -> Any:
        """Trouble after `call` was carried out (an object with `drop` and `release`), or None."""
        return None


    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

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
            refused = self._fault_before(call)  # the tests' seam (tests/slack/faults.py)
            if refused is not None:
                return refused
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


def _views_open(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    """A modal opened with a trigger_id: kept (with an id and hash, as Slack answers) so that
    views.update and the tests see it."""
    if not args.get("trigger_id"):
        return _error("invalid_arguments")
    view = args.get("view")
    if not isinstance(view, dict) or view.get("type") != "modal":
        return _error("invalid_arguments")
    view_id = f"V{next(stub._view_ids):08d}"
    stub._views[view_id] = {**view, "id": view_id, "hash": f"{view_id}.1"}
    return {"ok": True, "view": json.loads(json.dumps(stub._views[view_id]))}


def _views_update(stub: SlackStub, args: dict[str, Any]) -> dict[str, Any]:
    """Replaces an open modal (by view_id or external_id); a stale `hash` is a conflict, as in Slack."""
    view = args.get("view")
    if not isinstance(view, dict):
        return _error("invalid_arguments")
    view_id = args.get("view_id") or next(
        (i for i, v in stub._views.items() if args.get("external_id") and v.get("external_id") == args["external_id"]),
        None)
    current = stub._views.get(view_id) if view_id else None
    if current is None:
        return _error("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        return _error("hash_conflict")
    version = int(current["hash"].rsplit(".", 1)[1]) + 1
    stub._views[view_id] = {**view, "id": view_id, "hash": f"{view_id}.{version}"}
    return {"ok": True, "view": json.loads(json.dumps(stub._views[view_id]))}


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
    "views.open": _views_open,
    "views.update": _views_update,
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
                after = stub._fault_after(call)  # the tests' seam: held, or dropped
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


APPS_CONNECTIONS_OPEN = "apps.connections.open"  # Socket Mode: tests/slack/socket_mode.py plays Slack's side
