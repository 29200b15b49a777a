"""Secrets never reach a message or a log line: the one place that scrubs them.

Every configured key, token and signing secret is `remember`ed when the bot (or the
doctor) reads its settings. From then on:

- every log record, whatever logger or handler it goes to, has its message and its
  traceback scrubbed when it is made (a log-record factory, so handlers added later, as
  pytest's, are covered too);
- every Slack message nzbot renders (bot.rendering.render) is scrubbed with `redact`;
- the doctor scrubs each line it prints.

An Alma error that echoes the API key, or a traceback holding a token, so shows
"[redacted]" instead. Whole values only: a secret is replaced where it appears in full,
never a part of it, and settings refuse secrets shorter than MIN_SECRET_LENGTH (a
one-character "secret" would turn "API key" into "API k[redacted]y").
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Iterable, Mapping

from alma.config import MIN_SECRET_LENGTH

REDACTED = "[redacted]"
# The settings that hold secrets, for commands that read the environment piecemeal.
SECRET_SETTINGS = ("ALMA_API_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                   "ALMA_NZ_API_KEY")

_lock = threading.Lock()
_remembered: tuple[str, ...] = ()  # longest first, so a secret holding another goes whole
_installed = False


def remember(secrets: Iterable[str]) -> None:
    """Adds configured secrets to those scrubbed everywhere, and installs the log scrubbing."""
    global _remembered
    new = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    with _lock:
        if not new.issubset(_remembered):
            _remembered = tuple(sorted(set(_remembered) | new, key=len, reverse=True))
        _install_log_scrubbing()


def remember_env(env: Mapping[str, str]) -> None:
    """Remembers the secrets set in the environment (the CLI, before any setting is read)."""
    remember(env.get(name, "").strip() for name in SECRET_SETTINGS)
    remember(env.get(name, "").strip() for name in _member_key_settings(env.get("NZBOT_CONFIG", "").strip()))


def _member_key_settings(config_path: str) -> list[str]:
    """The variables holding the member institutions' keys (consortium mode), as far as
    the file can be read: the settings reader says what is wrong with it."""
    if not config_path:
        return []
    import tomllib

    try:
        with open(config_path, "rb") as f:
            tables = tomllib.load(f).get("institution") or []
        return [t["api_key_env"] for t in tables if isinstance(t, dict) and isinstance(t.get("api_key_env"), str)]
    except (OSError, ValueError, AttributeError, TypeError):
        return []


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret (the remembered ones, and `secrets`) as [redacted]."""
    known = _remembered if secrets is None else tuple(
        sorted({s for s in (*_remembered, *secrets) if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True))
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_all(value: object) -> object:
    """Every string in a JSON-like value (a rendered Slack message) redacted."""
    if not _remembered:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_all(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_all(v) for k, v in value.items()}
    return value


def _install_log_scrubbing() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def scrubbed_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as it would
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(scrubbed_record)
    _installed = True
