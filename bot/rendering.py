"""How nzbot's Slack messages are made: the Jinja2 environment over the templates in
`templates/`, its filters, and `render`.

One template per message (`<name>.json.j2`), each rendering a JSON object
`{"text": fallback, "blocks": [...]}`. Every value goes into the JSON through Jinja's
`tojson`, and every piece of text that comes from outside (MARC, set names, Alma's notes
and alerts) goes through the `mrkdwn` filter first, so a title holding `<!channel>` or a
forged link can never ping a channel or link anywhere. Long texts are cut to Slack's
limits by `truncate_to`, after escaping, so the limit holds for what Slack receives.
The builders that choose what a message says are bot/messages.py (commands and link
jobs) and bot/case_messages.py (multi-match cases); their words are bot/wording.py and
nzbot/states.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Mapping

import jinja2

from bot import templates
from alma.matching import Verdict
from bot import action_ids
from bot.wording import COMMANDS, DIFFERS_MARK, OUTCOME_EMOJI, SLASH_COMMAND, STATUS_WORDS, VERDICT_EMOJI
from nzbot import redaction
from nzbot.report import outcome
from nzbot.states import JOB_DONE, CaseState, Decision, JobState, PmNotice, RouteKind
from nzbot.text import VERDICTS

# --- Slack's limits (characters unless said otherwise) --------------------------------
SECTION_TEXT_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
FIELD_LIMIT = 2000
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 300  # the notification text: Slack allows far more, people read far less

_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_BROADCAST = re.compile(r"@(channel|here|everyone)", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"
# C0 and C1 control characters (NUL, ESC, ...) but tab and line break: never sent on as
# typed (a terminal escape, a NUL that cuts the text), shown as the replacement character.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_REPLACEMENT = "\ufffd"
_ELLIPSIS = "\u2026"


# --- filters ----------------------------------------------------------------------------


def mrkdwn(value: Any) -> str:
    """Text from outside, made safe for Slack mrkdwn: `&`, `<`, `>` as entities (no
    mentions, no links, no `<!channel>`), and `@channel`/`@here`/`@everyone` broken by a
    zero-width space so they stay words even where Slack would link names. Control
    characters (NUL, ESC, ...) become U+FFFD."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(_REPLACEMENT, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + _ZERO_WIDTH_SPACE + m.group(1), text)


def truncate_to(value: Any, limit: int) -> str:
    """At most `limit` characters, ending with an ellipsis when cut. Never cuts an
    entity (`&amp;`) in half."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp <= 4:
        cut = cut[:amp]
    return cut.rstrip() + _ELLIPSIS


def number(value: Any) -> str:
    """1234 -> "1,234"; anything that isn't a number as it is."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def plural(count: Any, singular: str, plural_form: str | None = None) -> str:
    """3, "record" -> "3 records"."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{number(count)} {word}"


def progress_bar(progress: Any, width: int = 10) -> str:
    """60 -> "▓▓▓▓▓▓░░░░ 60%"."""
    try:
        percent = max(0, min(100, int(progress or 0)))
    except (TypeError, ValueError):
        percent = 0
    filled = round(percent * width / 100)
    return "\u2593" * filled + "\u2591" * (width - filled) + f" {percent}%"


_EIGHTHS = " \u258f\u258e\u258d\u258c\u258b\u258a\u2589"  # a cell an eighth full, a quarter full, ...


def bar(value: Any, top: Any, width: int = 20) -> str:
    """A bar `width` cells long at `top`, drawn to an eighth of a cell: 30 of 120 ->
    "█████" (a picture of the figure in text, read at a glance in any Slack client)."""
    try:
        count = max(0, int(value or 0))
        eighths = max(round(count * width * 8 / max(1, int(top or 0))), 1 if count else 0)  # none is no bar
    except (TypeError, ValueError):
        return ""
    whole, part = divmod(min(eighths, width * 8), 8)
    return "\u2588" * whole + (_EIGHTHS[part] if part else "")


def duration(seconds: Any) -> str:
    """125 -> "2 min 5 s"; 3720 -> "1 h 2 min"; None -> "unknown"."""
    if seconds is None:
        return "unknown"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def mention(user: Any) -> str:
    """Who started a job: a Slack user id as a mention, "alma" as Alma, anything else as
    escaped text (never a raw `<…>`)."""
    text = "" if user is None else str(user)
    if text == "alma":
        return "Alma (started in Alma)"
    if _SLACK_USER_ID.fullmatch(text):
        return f"<@{text}>"
    return mrkdwn(text) or "someone"


def slack_date(value: Any) -> str:
    """An ISO timestamp as Slack's date token, shown in each reader's own time zone; the
    escaped text itself when it is not a timestamp."""
    text = "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return mrkdwn(text)
    if moment.tzinfo is None:
        return mrkdwn(text)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def status_words(status: Any) -> str:
    """Alma's job status in plain words (unknown ones as Alma gave them)."""
    text = "" if status is None else str(status)
    return STATUS_WORDS.get(text, text.replace("_", " ").lower() or "unknown")


# --- rendering --------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict]

    def as_kwargs(self) -> dict[str, Any]:
        """For chat.postMessage, chat.update, chat.postEphemeral and respond()."""
        return {"text": self.text, "blocks": self.blocks}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=templates.loader(),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        mrkdwn=mrkdwn,
        truncate_to=truncate_to,
        number=number,
        plural=plural,
        progress_bar=progress_bar,
        bar=bar,
        duration=duration,
        mention=mention,
        slack_date=slack_date,
        status_words=status_words,
    )
    env.globals.update(
        A=action_ids,
        Verdict=Verdict,
        VERDICTS=VERDICTS,
        VERDICT_EMOJI=VERDICT_EMOJI,
        OUTCOME_EMOJI=OUTCOME_EMOJI,
        DIFFERS_MARK=DIFFERS_MARK,
        COMMANDS=COMMANDS,
        SLASH_COMMAND=SLASH_COMMAND,
        SECTION=SECTION_TEXT_LIMIT,
        HEADER=HEADER_LIMIT,
        BUTTON=BUTTON_TEXT_LIMIT,
        FIELD=FIELD_LIMIT,
        CONTEXT=CONTEXT_LIMIT,
        FALLBACK=FALLBACK_LIMIT,
        outcome=outcome,
        JobState=JobState,
        JOB_DONE=JOB_DONE,
        CaseState=CaseState,
        Decision=Decision,
        RouteKind=RouteKind,
        PmNotice=PmNotice,
    )
    return env


def message_texts(message: Mapping[str, Any]) -> list[str]:
    """The fallback text and every text in a message's blocks, as sent to Slack: what a
    person would read (for checking messages, and for the demo's transcript)."""
    texts = [str(message.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return texts


def render_view(name: str, **context: Any) -> dict[str, Any]:
    """Renders `templates/<name>.json.j2` into a modal view (views.open, views.update, a
    view_submission's ack): the same environment and filters as every message."""
    rendered = environment().get_template(f"{name}.json.j2").render(**context)
    return redaction.redact_all(json.loads(rendered))


def render(name: str, **context: Any) -> Message:
    """Renders `templates/<name>.json.j2` into a Message."""
    rendered = environment().get_template(f"{name}.json.j2").render(**context)
    data = redaction.redact_all(json.loads(rendered))  # no configured secret ever reaches Slack
    return Message(text=data["text"], blocks=data["blocks"])
