"""The demo's record of the conversation: what the people typed and clicked, and what the
bot said, edited and replied, in the order it happened.

The bot's side is read from the Slack stand-in's recorded calls (``chat.postMessage``,
``chat.update``, ``chat.delete``, ``chat.postEphemeral``, posts to response URLs) and from
the acks of the signed requests, never guessed. Each entry is printed as it arrives, and
at the end the whole conversation is written as HTML, edited messages in their final form
and each click with the message as it stood when it was clicked.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, TextIO

import jinja2

from bot.demo.blocks import block_views, message_lines, mrkdwn_plain
from bot import templates

TEMPLATE = "transcript.html.j2"
INDENT = "    "

# The Slack calls that change what people see. Everything else (auth.test,
# conversations.open, conversations.replies, ...) is the bot looking, not talking.
_SHOWN_METHODS = ("chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral", "response_url",
                  "conversations.open")


@dataclass
class Entry:
    kind: str  # "message", "command", "click" or "step"
    at: float  # time.time()
    channel: str = ""
    author: str = ""
    text: str = ""  # commands, clicks and steps
    message: dict[str, Any] = field(default_factory=dict)  # {"text", "blocks"} of a message
    ts: str | None = None  # a channel message's Slack ts
    thread_ts: str | None = None
    ephemeral: bool = False
    visible_to: str | None = None
    edits: int = 0
    deleted: bool = False
    detail: str = ""  # a click's confirmation text
    label: str = ""  # a click's button
    about: str = ""  # a click's "under NZ record ..."


class Transcript:
    def __init__(self, out: TextIO, names: Mapping[str, str], dm_users: Mapping[str, str] | None = None,
                 bot_name: str = "nzbot") -> None:
        self.out = out
        self.names = dict(names)  # user and channel ids -> what people call them
        self.dm_users = dict(dm_users or {})  # DM channel id -> user id
        self.bot_name = bot_name
        self.entries: list[Entry] = []
        self._messages: dict[tuple[str, str], Entry] = {}  # (channel, ts) -> entry
        self._origins: dict[str, Entry | None] = {}  # response_url name -> the message it answers
        self._origin_places: dict[str, tuple[str, str]] = {}  # name -> (channel, user)
        self._seen_calls = 0
        self.started = time.time()

    # -------------------------------------------------------------- printing

    def _clock(self, at: float) -> str:
        return datetime.fromtimestamp(at).strftime("%H:%M:%S")

    def write(self, text: str) -> None:
        try:
            self.out.write(text)
        except UnicodeEncodeError:  # a terminal that cannot show "…" or "▓"
            encoding = getattr(self.out, "encoding", None) or "ascii"
            self.out.write(text.encode(encoding, errors="replace").decode(encoding))
        self.out.flush()

    def _say(self, at: float, head: str, lines: list[str] = ()) -> None:
        self.write(f"{self._clock(at)}  {head}\n" + "".join(f"{INDENT}{line}\n" for line in lines))

    def name(self, some_id: str | None) -> str:
        return self.names.get(some_id or "", some_id or "?")

    def place(self, channel: str) -> str:
        if channel in self.dm_users:
            return f"DM with {self.name(self.dm_users[channel])}"
        if channel.startswith("D") and channel not in self.names:
            return f"a DM ({channel})"
        return f"#{self.name(channel)}"

    def lines(self, message: Mapping[str, Any]) -> list[str]:
        return message_lines(message, self.names)

    def _title(self, entry: Entry) -> str:
        """A message's first line, to point at it: its header or its fallback text."""
        for line in self.lines(entry.message):
            if line.strip():
                return line.strip("= ").strip()[:80]
        return mrkdwn_plain(str(entry.message.get("text") or ""), self.names)[:80]

    # -------------------------------------------------------------- what people do

    def step(self, number: int, title: str) -> Entry:
        entry = Entry(kind="step", at=time.time(), text=f"Step {number}: {title}")
        self.entries.append(entry)
        bar = "\u2500" * max(4, 78 - len(entry.text))
        self.write(f"\n\u2500\u2500 {entry.text} {bar}\n")
        return entry

    def note(self, text: str) -> Entry:
        """An aside between the messages: what happened in Alma, which no message shows."""
        entry = Entry(kind="note", at=time.time(), text=text)
        self.entries.append(entry)
        self.write(f"\n{text}\n")
        return entry

    def command(self, user: str, channel: str, text: str, response_name: str) -> Entry:
        entry = Entry(kind="command", at=time.time(), channel=channel, author=self.name(user), text=text)
        self.entries.append(entry)
        self._origins[response_name] = None
        self._origin_places[response_name] = (channel, user)
        self._say(entry.at, f"{entry.author} (in {self.place(channel)}): {text}")
        return entry

    def acked(self, response_name: str, status: int, body: str, content_type: str) -> Entry | None:
        """The HTTP answer to a command or a click: a message when the ack carried one."""
        channel, user = self._origin_places[response_name]
        if status != 200:
            self._say(time.time(), f"Slack got HTTP {status} from nzbot: {body[:200]}")
            return None
        if not body.strip() or "json" not in content_type.lower():
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"text": body}
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return None
        entry = self._new_message(time.time(), channel, payload, ephemeral=payload.get("response_type") != "in_channel",
                                  visible_to=user)
        if self._origins.get(response_name) is None:
            self._origins[response_name] = entry
        return entry

    def click(self, user: str, message: Entry, button: Mapping[str, Any], response_name: str,
              about: str = "") -> Entry:
        label = mrkdwn_plain(str((button.get("text") or {}).get("text") or ""), self.names)
        if about.strip().lower() == label.strip().lower():  # "clicked [Review cases] Review cases"
            about = ""
        confirm = button.get("confirm") or {}
        confirm_text = str((confirm.get("text") or {}).get("text") or "")
        # the message as it stood when clicked: the case the person decided on, kept even
        # when the message is edited later (a queue message moves on to the next case)
        entry = Entry(kind="click", at=time.time(), channel=message.channel, author=self.name(user),
                      text=f"[{label}]" + (f" {about}" if about else ""), detail=confirm_text,
                      label=label, about=about, message=copy.deepcopy(message.message))
        self.entries.append(entry)
        self._origins[response_name] = message
        self._origin_places[response_name] = (message.channel, user)
        lines = [f'Slack asked first: "{confirm_text}" \u2192 {self.name(user)} chose '
                 f'[{(confirm.get("confirm") or {}).get("text") or "Confirm"}]'] if confirm_text else []
        self._say(entry.at, f"{entry.author} clicked {entry.text} on nzbot's message in "
                            f"{self.place(message.channel)}", lines)
        return entry

    # -------------------------------------------------------------- what the bot does

    def _new_message(self, at: float, channel: str, message: Mapping[str, Any], *, ts: str | None = None,
                     thread_ts: str | None = None, ephemeral: bool = False,
                     visible_to: str | None = None) -> Entry:
        entry = Entry(kind="message", at=at, channel=channel, author=self.bot_name,
                      message={"text": message.get("text"), "blocks": message.get("blocks")},
                      ts=ts, thread_ts=thread_ts if thread_ts != ts else None, ephemeral=ephemeral,
                      visible_to=visible_to)
        self.entries.append(entry)
        if ts:
            self._messages[(channel, ts)] = entry
        if ephemeral:
            head = f"{self.bot_name} (ephemeral, only {self.name(visible_to)} sees it, in {self.place(channel)}):"
        elif channel in self.dm_users:
            head = f"{self.bot_name} \u2192 {self.name(self.dm_users[channel])} (DM):"
        else:
            head = f"{self.bot_name} in {self.place(channel)}:"
            parent = self._messages.get((channel, entry.thread_ts or ""))
            if parent is not None:
                head = (f"{self.bot_name} in {self.place(channel)}, in the thread of its "
                        f"{self._clock(parent.at)} message \u201c{self._title(parent)}\u201d:")
        self._say(at, head, self.lines(entry.message))
        return entry

    def _edit(self, at: float, entry: Entry, message: Mapping[str, Any], how: str) -> None:
        old = self.lines(entry.message)
        entry.message = {"text": message.get("text"), "blocks": message.get("blocks")}
        entry.edits += 1
        seen = set(old)
        changed = [line for line in self.lines(entry.message) if line not in seen]
        where = (f"its ephemeral message to {self.name(entry.visible_to)}" if entry.ephemeral
                 else f"its message in {self.place(entry.channel)}")
        head = f"{self.bot_name} {how} {where} of {self._clock(entry.at)} (\u201c{self._title(entry)}\u201d)"
        if changed:
            self._say(at, head + ", which now says:", changed)
        else:
            self._say(at, head + ": no visible change")

    def follow(self, calls: list[Any]) -> None:
        """Takes the stub's calls recorded since the last look (pass ``stub.calls()``)."""
        new, self._seen_calls = calls[self._seen_calls:], len(calls)
        for call in new:
            if call.method in _SHOWN_METHODS:
                self._take(call)

    def _take(self, call: Any) -> None:
        at = time.time() - max(0.0, time.monotonic() - call.at)
        args, response = call.args or {}, call.response or {}
        if call.method == "response_url":
            self._take_response(at, call.name or "", args)
            return
        if not response.get("ok"):
            self._say(at, f"({call.method} failed in Slack: {response.get('error')})")
            return
        if call.method == "conversations.open":  # a DM: remember whose it is
            users = args.get("users")
            users = users if isinstance(users, list) else str(users or "").split(",")
            channel_id = (response.get("channel") or {}).get("id")
            if channel_id and len(users) == 1 and users[0].strip():
                self.dm_users.setdefault(channel_id, users[0].strip())
        elif call.method == "chat.postMessage":
            channel = response.get("channel") or args.get("channel")
            self._new_message(at, channel, args, ts=response.get("ts"), thread_ts=args.get("thread_ts"))
        elif call.method == "chat.postEphemeral":
            self._new_message(at, args.get("channel"), args, ephemeral=True, visible_to=args.get("user"))
        elif call.method == "chat.update":
            entry = self._messages.get((response.get("channel") or args.get("channel"), args.get("ts")))
            if entry is not None:
                self._edit(at, entry, args, "edited")
        elif call.method == "chat.delete":
            entry = self._messages.get((response.get("channel") or args.get("channel"), args.get("ts")))
            if entry is not None:
                entry.deleted = True
                self._say(at, f"{self.bot_name} deleted its message in {self.place(entry.channel)} "
                              f"(\u201c{self._title(entry)}\u201d)")

    def _take_response(self, at: float, name: str, args: Mapping[str, Any]) -> None:
        if name not in self._origin_places:
            self._say(at, f"({self.bot_name} answered a request this demo did not send)")
            return
        origin = self._origins.get(name)
        channel, user = self._origin_places[name]
        if args.get("delete_original") and origin is not None:
            origin.deleted = True
            self._say(at, f"{self.bot_name} deleted its message (\u201c{self._title(origin)}\u201d)")
            return
        if args.get("replace_original") is True or str(args.get("replace_original")).lower() == "true":
            if origin is not None:
                self._edit(at, origin, args, "replaced")
                return
        entry = self._new_message(at, channel, args, ephemeral=args.get("response_type") != "in_channel",
                                  visible_to=user)
        if origin is None:
            self._origins[name] = entry

    # -------------------------------------------------------------- lookups for the runner

    def message_at(self, channel: str, ts: str) -> Entry | None:
        return self._messages.get((channel, ts))

    def answer_to(self, response_name: str) -> Entry | None:
        """The (ephemeral) answer nzbot gave a command, by the command's response_url name."""
        return self._origins.get(response_name)

    # -------------------------------------------------------------- HTML

    def html(self, *, title: str, facts: list[tuple[str, str]]) -> str:
        env = jinja2.Environment(
            loader=templates.loader(),
            autoescape=True,  # always on: this is HTML, not the bot's JSON templates
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        return env.get_template(TEMPLATE).render(title=title, facts=facts, items=self._html_items(),
                                                 places=self._places())

    def write_html(self, path: Path, *, title: str, facts: list[tuple[str, str]]) -> None:
        path.write_text(self.html(title=title, facts=facts), encoding="utf-8")

    def _places(self) -> list[str]:
        seen: dict[str, None] = {}
        for entry in self.entries:
            if entry.channel:
                seen.setdefault(self.place(entry.channel))
        return list(seen)

    def _view(self, entry: Entry) -> dict[str, Any]:
        view: dict[str, Any] = {
            "kind": entry.kind,
            "time": self._clock(entry.at),
            "author": entry.author,
            "is_bot": entry.kind == "message",
            "initial": (entry.author[:1] or "?").upper(),
            "place": self.place(entry.channel) if entry.channel else "",
            "text": entry.text,
            "detail": entry.detail,
            "label": entry.label,
            "about": entry.about,
            "ephemeral": entry.ephemeral,
            "visible_to": self.name(entry.visible_to) if entry.visible_to else "",
            "edited": entry.edits > 0,
            "deleted": entry.deleted,
            "replies": [],
        }
        if entry.kind in ("message", "click") and entry.message:
            view["blocks"] = block_views(entry.message, self.names)
        return view

    def _html_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        views: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in self.entries:
            view = self._view(entry)
            parent = views.get((entry.channel, entry.thread_ts)) if entry.thread_ts else None
            if parent is not None:
                parent["replies"].append(view)
            else:
                items.append(view)
            if entry.ts:
                views[(entry.channel, entry.ts)] = view
        # a heading for each run of entries in one place (as Slack shows one channel at a time)
        last_place = None
        for item in items:
            item["new_place"] = bool(item["place"]) and item["place"] != last_place
            if item["place"]:
                last_place = item["place"]
            elif item["kind"] in ("step", "note"):
                last_place = None
        return items
