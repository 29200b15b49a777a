"""Slack messages as a person reads them: Block Kit and mrkdwn to plain lines (for the
terminal) and to HTML (for the transcript).

Slack's mrkdwn arrives escaped the Slack way: a literal ``&``, ``<`` or ``>`` is sent as
``&amp;``, ``&lt;``, ``&gt;``, and anything between real angle brackets is a control
sequence (``<@U123>``, ``<#C123>``, ``<https://…|text>``, ``<!date^…|fallback>``). Both
renderings undo Slack's escaping first; the HTML one then escapes everything for HTML
before adding its own tags, so catalog text holding ``<script>`` or ``&`` shows as text.
"""

from __future__ import annotations

import html
import re
import textwrap
from typing import Any, Mapping

from markupsafe import Markup

from bot.rendering import message_texts

# The emoji nzbot's messages use (templates/*.j2, bot/wording.py), shown as the character;
# any other :name: stays as text. tests/bot/test_transcript_words.py holds it complete.
EMOJI = {
    "calendar": "\U0001f4c6",
    "card_index_dividers": "\U0001f5c2\ufe0f",
    "classical_building": "\U0001f3db\ufe0f",
    "floppy_disk": "\U0001f4be",
    "recycle": "\u267b\ufe0f",
    "scales": "\u2696\ufe0f",
    "wastebasket": "\U0001f5d1\ufe0f",
    "white_check_mark": "\u2705",
    "heavy_check_mark": "\u2714\ufe0f",
    "x": "\u274c",
    "warning": "\u26a0\ufe0f",
    "hourglass_flowing_sand": "\u23f3",
    "hourglass": "\u231b",
    "arrows_counterclockwise": "\U0001f504",
    "arrow_forward": "\u25b6\ufe0f",
    "twisted_rightwards_arrows": "\U0001f500",
    "mag": "\U0001f50d",
    "link": "\U0001f517",
    "no_entry": "\u26d4",
    "no_entry_sign": "\U0001f6ab",
    "information_source": "\u2139\ufe0f",
    "bulb": "\U0001f4a1",
    "tada": "\U0001f389",
    "inbox_tray": "\U0001f4e5",
    "outbox_tray": "\U0001f4e4",
    "pushpin": "\U0001f4cc",
    "question": "\u2753",
    "grey_question": "\u2754",
    "heavy_plus_sign": "\u2795",
    "fast_forward": "\u23e9",
    "repeat": "\U0001f501",
    "lock": "\U0001f512",
    "eyes": "\U0001f440",
    "memo": "\U0001f4dd",
    "books": "\U0001f4da",
    "package": "\U0001f4e6",
    "stopwatch": "\u23f1\ufe0f",
    "bust_in_silhouette": "\U0001f464",
    "large_green_circle": "\U0001f7e2",
    "red_circle": "\U0001f534",
    "white_circle": "\u26aa",
    "small_orange_diamond": "\U0001f538",
    "raising_hand": "\U0001f64b",
    "hand": "\u270b",
    "heavy_minus_sign": "\u2796",
}

_CONTROL = re.compile(r"<([^<>\n]*)>")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_CODE_BLOCK = re.compile(r"```(.+?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.I)


def slack_unescape(text: str) -> str:
    """Slack's three escapes undone (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _control_parts(token: str) -> tuple[str, str]:
    target, _, label = token.partition("|")
    return target, label


def _control_text(token: str, names: Mapping[str, str]) -> str:
    """What a control sequence reads as: @name, #channel, a link's text, a date's fallback."""
    target, label = _control_parts(token)
    if target.startswith("@"):
        uid = target[1:]
        return "@" + (names.get(uid) or slack_unescape(label) or uid)
    if target.startswith("#"):
        cid = target[1:]
        return "#" + (slack_unescape(label) or names.get(cid) or cid)
    if target.startswith("!"):
        if target.startswith("!date^"):
            return slack_unescape(label) or target
        if target.startswith("!subteam^"):
            return "@" + (slack_unescape(label) or "group")
        return "@" + target[1:]  # !here, !channel, !everyone
    url = slack_unescape(target)
    return slack_unescape(label) or url


# ------------------------------------------------------------------------ plain text


def mrkdwn_plain(text: str, names: Mapping[str, str] | None = None) -> str:
    """mrkdwn as plain text: markers dropped, mentions as @name, links as their text."""
    names = names or {}
    text = text.replace("\ue000", "").replace("\ue001", "")
    pieces: list[str] = []

    def keep(match: re.Match) -> str:
        target, label = _control_parts(match.group(1))
        shown = _control_text(match.group(1), names)
        if label and not target.startswith(("@", "#", "!")) and slack_unescape(target) != shown:
            shown = f"{shown} ({slack_unescape(target)})"
        pieces.append(shown)
        return f"\ue000{len(pieces) - 1}\ue001"

    text = _CONTROL.sub(keep, text)
    text = _CODE_BLOCK.sub(lambda m: m.group(1), text)
    text = _CODE.sub(lambda m: m.group(1), text)
    text = _BOLD.sub(lambda m: m.group(1), text)
    text = _ITALIC.sub(lambda m: m.group(1), text)
    text = _STRIKE.sub(lambda m: m.group(1), text)
    text = slack_unescape(text)
    return _PLACEHOLDER.sub(lambda m: pieces[int(m.group(1))], text)


def text_object_plain(obj: Any, names: Mapping[str, str] | None = None) -> str:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text") or "")
    return mrkdwn_plain(text, names) if obj.get("type") == "mrkdwn" else text


def _field_line(field: Any, names: Mapping[str, str]) -> str:
    """A field "*Label*\\nvalue" as "Label: value"."""
    text = text_object_plain(field, names).strip()
    label, sep, value = text.partition("\n")
    if not sep:
        return label
    return f"{label}: {' / '.join(v.strip() for v in value.splitlines() if v.strip())}"


def _button_label(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    return f"[{text_object_plain(element.get('text'), names)}]"


def _element_plain(element: Any, names: Mapping[str, str]) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return _button_label(element, names)
    if kind == "image":
        return f"[image: {element.get('alt_text') or ''}]"
    if kind in ("mrkdwn", "plain_text"):
        return text_object_plain(element, names)
    placeholder = element.get("placeholder")
    return f"[{kind}{': ' + text_object_plain(placeholder, names) if placeholder else ''}]"


def _rich_text_plain(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text") or "")
        if node.get("type") == "link":
            return str(node.get("text") or node.get("url") or "")
        return "".join(_rich_text_plain(e) for e in node.get("elements") or [])
    if isinstance(node, list):
        return "".join(_rich_text_plain(e) for e in node)
    return ""


def message_lines(message: Mapping[str, Any], names: Mapping[str, str] | None = None,
                  width: int = 100) -> list[str]:
    """A message's blocks as the lines a person reads (its fallback text if no blocks)."""
    names = names or {}
    blocks = message.get("blocks") or []
    if not blocks:
        text = mrkdwn_plain(str(message.get("text") or ""), names)
        return text.splitlines() or [""]
    lines: list[str] = []
    wrap = textwrap.TextWrapper(width=width, subsequent_indent="  ", break_long_words=False,
                                break_on_hyphens=False)
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {text_object_plain(block.get('text'), names)} ==")
        elif kind == "section":
            if block.get("text"):
                lines.extend(text_object_plain(block.get("text"), names).splitlines())
            fields = [_field_line(f, names) for f in block.get("fields") or []]
            if fields:
                lines.extend(wrap.wrap(" \u00b7 ".join(f for f in fields if f)))
            if isinstance(block.get("accessory"), dict):
                lines.append(_element_plain(block["accessory"], names))
        elif kind == "context":
            text = " \u00b7 ".join(_element_plain(e, names) for e in block.get("elements") or [])
            lines.extend("  " + line for line in wrap.wrap(text) or [""])
        elif kind == "divider":
            lines.append("-" * 24)
        elif kind == "actions":
            lines.append(" ".join(_element_plain(e, names) for e in block.get("elements") or []))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text') or ''}]")
        elif kind == "rich_text":
            lines.extend(_rich_text_plain(block).splitlines())
        else:
            lines.append(f"[{kind} block]")
    return lines


def everything_said(message: Mapping[str, Any]) -> str:
    """The fallback text and every text in the blocks, unrendered: for searching."""
    return "\n".join(message_texts(message))


def buttons(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every button of a message, in order (actions blocks and section accessories)."""
    found = []
    for block in message.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        found += [e for e in elements if isinstance(e, dict) and e.get("type") == "button"]
    return found


# ------------------------------------------------------------------------------ HTML


def _control_html(token: str, names: Mapping[str, str]) -> str:
    target, _ = _control_parts(token)
    shown = html.escape(_control_text(token, names))
    if target.startswith(("@", "!")) and not target.startswith("!date^"):
        return f'<span class="mention">{shown}</span>'
    if target.startswith("#"):
        return f'<span class="mention">{shown}</span>'
    if target.startswith("!date^"):
        return f'<span class="date">{shown}</span>'
    url = slack_unescape(target)
    if _SAFE_URL.match(url):
        return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{shown}</a>'
    return shown


def _emoji_html(match: re.Match) -> str:
    char = EMOJI.get(match.group(1))
    if char is None:
        return match.group(0)
    return f'<span class="emoji" title=":{match.group(1)}:">{char}</span>'


def mrkdwn_html(text: str, names: Mapping[str, str] | None = None) -> Markup:
    """mrkdwn as safe HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, mentions, links
    (http, https and mailto only), known :emoji:, line breaks. Everything else is text."""
    names = names or {}
    text = str(text).replace("\ue000", "").replace("\ue001", "")
    pieces: list[str] = []

    def hold(rendered: str) -> str:
        pieces.append(rendered)
        return f"\ue000{len(pieces) - 1}\ue001"

    text = _CONTROL.sub(lambda m: hold(_control_html(m.group(1), names)), text)
    escaped = html.escape(slack_unescape(text), quote=True)
    escaped = _CODE_BLOCK.sub(lambda m: hold(f"<pre>{m.group(1).strip(chr(10))}</pre>"), escaped)
    escaped = _CODE.sub(lambda m: hold(f"<code>{m.group(1)}</code>"), escaped)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    escaped = _EMOJI.sub(_emoji_html, escaped)
    escaped = escaped.replace("\n", "<br>\n")
    # placeholders can nest (a mention inside code): restore until none are left
    for _ in range(3):
        escaped = _PLACEHOLDER.sub(lambda m: pieces[int(m.group(1))], escaped)
    return Markup(escaped)


def text_object_html(obj: Any, names: Mapping[str, str] | None = None) -> Markup:
    if not isinstance(obj, dict):
        return Markup("")
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn_html(text, names)
    escaped = html.escape(text, quote=True)
    if obj.get("emoji", True):
        escaped = _EMOJI.sub(_emoji_html, escaped)
    return Markup(escaped.replace("\n", "<br>\n"))


def _element_view(element: Any, names: Mapping[str, str]) -> dict[str, Any]:
    if not isinstance(element, dict):
        return {"type": "unknown", "label": ""}
    kind = element.get("type")
    if kind == "button":
        confirm = element.get("confirm") or {}
        return {
            "type": "button",
            "label": text_object_plain(element.get("text"), names),
            "style": element.get("style") if element.get("style") in ("primary", "danger") else "",
            "confirm": text_object_plain(confirm.get("text"), names) if confirm else "",
            "url": element.get("url") if _SAFE_URL.match(str(element.get("url") or "")) else "",
        }
    if kind in ("mrkdwn", "plain_text"):
        return {"type": "text", "html": text_object_html(element, names)}
    if kind == "image":
        return {"type": "image", "alt": str(element.get("alt_text") or "")}
    placeholder = element.get("placeholder")
    return {"type": "control", "label": f"{kind}: {text_object_plain(placeholder, names)}" if placeholder
            else str(kind)}


def block_views(message: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """A message's blocks, ready for the HTML template: text already rendered to safe HTML,
    labels as plain strings (the template escapes them)."""
    names = names or {}
    blocks = message.get("blocks") or []
    if not blocks:
        return [{"type": "section", "html": mrkdwn_html(str(message.get("text") or ""), names), "fields": [],
                 "accessory": None}]
    views: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            views.append({"type": "header", "html": text_object_html(block.get("text"), names)})
        elif kind == "section":
            views.append({
                "type": "section",
                "html": text_object_html(block.get("text"), names) if block.get("text") else None,
                "fields": [text_object_html(f, names) for f in block.get("fields") or []],
                "accessory": _element_view(block["accessory"], names)
                if isinstance(block.get("accessory"), dict) else None,
            })
        elif kind == "context":
            views.append({"type": "context",
                          "elements": [_element_view(e, names) for e in block.get("elements") or []]})
        elif kind == "divider":
            views.append({"type": "divider"})
        elif kind == "actions":
            views.append({"type": "actions",
                          "elements": [_element_view(e, names) for e in block.get("elements") or []]})
        elif kind == "image":
            views.append({"type": "image", "alt": str(block.get("alt_text") or "")})
        elif kind == "rich_text":
            views.append({"type": "section", "html": Markup(html.escape(_rich_text_plain(block))),
                          "fields": [], "accessory": None})
        else:
            views.append({"type": "unknown", "label": str(kind)})
    return views

