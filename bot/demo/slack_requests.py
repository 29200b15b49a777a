"""Send requests to the bot the way Slack does: signed slash commands and interactions.

Slack signs each request with the app's signing secret: ``X-Slack-Signature`` is
``v0=`` + hex HMAC-SHA256 of ``"v0:{timestamp}:{raw body}"``, and
``X-Slack-Request-Timestamp`` is the Unix time the request was sent. Bolt refuses requests
whose signature doesn't match or whose timestamp is more than five minutes away.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any, Mapping
from urllib.parse import urlencode

import requests

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_ids = itertools.count(1)


def _unique(prefix: str = "") -> str:
    return f"{prefix}{next(_ids)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def signature(body: str, secret: str, timestamp: int | str) -> str:
    base = f"v0:{timestamp}:{body}".encode("utf-8")
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def sign(body: str, secret: str, timestamp: int | None = None, *, content_type: str = FORM) -> dict[str, str]:
    """Slack's request headers for ``body``: timestamp, signature and content type."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret, ts),
        "Content-Type": content_type,
    }


def slash_command_body(
    text: str,
    *,
    command: str = "/nz",
    user_id: str = "U_CAT",
    channel_id: str = "C_REPORT",
    response_url: str | None = None,
    trigger_id: str | None = None,
    team_id: str = "T1",
    user_name: str | None = None,
    channel_name: str = "nz-report",
    team_domain: str = "nzbot-test",
    api_app_id: str = "A_NZBOT",
    token: str = "verification-token",
) -> str:
    """A slash command's form body, with the fields Slack sends."""
    if response_url is None:
        response_url = f"https://hooks.slack.com/commands/{team_id}/{next(_ids)}/{secrets.token_hex(12)}"
    fields = {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _unique(),
    }
    return urlencode(fields)


def interaction_body(payload: Mapping[str, Any]) -> str:
    """``payload=<urlencoded JSON>``, as Slack posts block_actions, view_submission, ..."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def block_action_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U_CAT",
    channel_id: str = "C_REPORT",
    message_ts: str = "1700000000.000100",
    response_url: str | None = None,
    block_id: str = "b",
    trigger_id: str | None = None,
    team_id: str = "T1",
    api_app_id: str = "A_NZBOT",
    message: Mapping[str, Any] | None = None,
    button_text: str = "Button",
    token: str = "verification-token",
) -> dict[str, Any]:
    """A block_actions payload for a button press on a bot message."""
    if response_url is None:
        response_url = f"https://hooks.slack.com/actions/{team_id}/{next(_ids)}/{secrets.token_hex(12)}"
    action_ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or _unique(),
        "team": {"id": team_id, "domain": "nzbot-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "nz-report"},
        "message": dict(message)
        if message is not None
        else {
            "type": "message",
            "ts": message_ts,
            "user": "U_BOT",
            "bot_id": "B_BOT",
            "text": "",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "action_ts": action_ts,
            }
        ],
    }


def view_submission_payload(
    view: Mapping[str, Any],
    values: Mapping[str, Mapping[str, Any]],
    *,
    user_id: str = "U_CAT",
    view_id: str = "V_NZBOT1",
    trigger_id: str | None = None,
    team_id: str = "T1",
    api_app_id: str = "A_NZBOT",
    token: str = "verification-token",
) -> dict[str, Any]:
    """A view_submission payload for a modal the bot opened (`view`, as sent to views.open)
    submitted with `values` ({block_id: {action_id: element state}}). The shape is Slack's
    "View interaction payloads" reference (docs.slack.dev/reference/interaction-payloads/
    view-interactions-payload): type, team, user, api_app_id, token, trigger_id, and the view
    with its id, hash, callback_id, private_metadata and state.values. No channel: a modal
    has none, so the bot carries it in private_metadata."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "nzbot-test"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or _unique(),
        "view": {
            **dict(view),
            "id": view_id,
            "team_id": team_id,
            "app_id": api_app_id,
            "bot_id": "B_BOT",
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "previous_view_id": None,
            "root_view_id": view_id,
            "state": {"values": {b: dict(v) for b, v in values.items()}},
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_action_payload(
    callback_id: str,
    text: str,
    *,
    user_id: str = "U_CAT",
    channel_id: str = "C_REPORT",
    message_ts: str = "1700000000.000200",
    message_user: str = "U_SOMEONE",
    response_url: str | None = None,
    trigger_id: str | None = None,
    team_id: str = "T1",
    token: str = "verification-token",
) -> dict[str, Any]:
    """A message shortcut (type message_action) used on a message saying `text`. The shape is
    Slack's "Shortcuts payloads" reference (api.slack.com/reference/interaction-payloads/
    shortcuts): callback_id, trigger_id, response_url, user, channel, message (the whole
    message), message_ts, team, token, action_ts."""
    if response_url is None:
        response_url = f"https://hooks.slack.com/app/{team_id}/{next(_ids)}/{secrets.token_hex(12)}"
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": trigger_id or _unique(),
        "action_ts": f"{time.time():.6f}",
        "message_ts": message_ts,
        "response_url": response_url,
        "team": {"id": team_id, "domain": "nzbot-test"},
        "user": {"id": user_id, "name": user_id.lower(), "team_id": team_id},
        "channel": {"id": channel_id, "name": "nz-report"},
        "message": {"type": "message", "user": message_user, "ts": message_ts, "text": text},
        "token": token,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def post_signed(
    url: str,
    body: str,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
    content_type: str = FORM,
    session: requests.Session | None = None,
) -> requests.Response:
    """POSTs ``body`` signed with ``secret``; ``headers`` are added last (and can override)."""
    all_headers = sign(body, secret, timestamp, content_type=content_type)
    all_headers["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
    if retry_num is not None:
        all_headers["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        all_headers["X-Slack-Retry-Reason"] = retry_reason
    all_headers.update(headers or {})
    poster = session.post if session is not None else requests.post
    return poster(url, data=body.encode("utf-8"), headers=all_headers, timeout=timeout)
