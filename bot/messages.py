"""nzbot's Slack messages: Block Kit built from the Jinja2 templates in `templates/`.

One template per message (`<name>.json.j2`), each rendering a JSON object
`{"text": fallback, "blocks": [...]}`. Every value goes into the JSON through Jinja's
`tojson`, and every piece of text that comes from outside (MARC, set names, Alma's notes
and alerts) goes through the `mrkdwn` filter first, so a title holding `<!channel>` or a
forged link can never ping a channel or link anywhere. Long texts are cut to Slack's
limits by `truncate_to`, after escaping, so the limit holds for what Slack receives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Mapping

import jinja2

from alma.matching import Match, Verdict
from alma.models import AlmaSet
from bot import action_ids
from nzbot import redaction
from nzbot.report import JobReport, outcome
from nzbot.store import LinkJob
from nzbot.text import VERDICTS
import templates

# --- Slack's limits (characters unless said otherwise) --------------------------------
SECTION_TEXT_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
FIELD_LIMIT = 2000
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 300  # the notification text: Slack allows far more, people read far less

# --- how much we show -------------------------------------------------------------------
MAX_CANDIDATES_SHOWN = 10  # candidate cards in one /nz match answer
MAX_JOBS_SHOWN = 20  # link jobs in one /nz jobs answer
MAX_EXAMPLES_SHOWN = 5  # example MMS IDs per verdict in a preview
MAX_LIST_LINES = 20  # other counters, alerts

SLASH_COMMAND = "/nz"

# Every subcommand: (usage, what it does). The help and the usage messages read this.
COMMANDS: tuple[tuple[str, str], ...] = (
    (
        f"{SLASH_COMMAND} match <IZ MMS ID or OCLC number>",
        "Which NZ records an IZ record (or an OCLC number) would link to with the "
        "Unique OCLC method, before anything changes.",
    ),
    (
        f"{SLASH_COMMAND} preview <set ID or name>",
        "What the link job would do to each record of a set: link it, skip it, or find "
        "a multi-match. Changes nothing in Alma.",
    ),
    (
        f"{SLASH_COMMAND} link <set ID or name> [contribute]",
        "Run \u201cLink a set of records to the Network Zone\u201d on a set. Add `contribute` "
        "to add records with no NZ match to the NZ as new records.",
    ),
    (f"{SLASH_COMMAND} jobs", "Running and recent link jobs."),
    (
        f"{SLASH_COMMAND} cases [csv]",
        "Open multi-match cases waiting for the Program Manager; with `csv`, every decision "
        "and the NZ duplicates it revealed.",
    ),
    (f"{SLASH_COMMAND} help", "This list."),
)

# Verdicts in the order a preview counts them, and their emoji; their words are nzbot.text.VERDICTS.
VERDICT_ORDER = (Verdict.UNIQUE, Verdict.MULTI, Verdict.NONE, Verdict.NO_OCLC, Verdict.LINKED,
                 Verdict.UNREADABLE)
VERDICT_EMOJI = {
    Verdict.LINKED: ":link:",
    Verdict.UNIQUE: ":white_check_mark:",
    Verdict.MULTI: ":twisted_rightwards_arrows:",
    Verdict.NONE: ":heavy_minus_sign:",
    Verdict.NO_OCLC: ":grey_question:",
    Verdict.UNREADABLE: ":warning:",
}

# Alma's job instance statuses in plain words.
STATUS_WORDS = {
    "QUEUED": "waiting in Alma's queue",
    "PENDING": "waiting in Alma's queue",
    "INITIALIZING": "starting",
    "RUNNING": "running",
    "FINALIZING": "finishing",
    "COMPLETED_SUCCESS": "completed",
    "COMPLETED_WARNING": "completed with warnings",
    "COMPLETED_FAILED": "completed with errors",
    "COMPLETED_NO_BULKS": "completed, with nothing to do (is the set empty?)",
    "FAILED": "failed",
    "MANUAL_HANDLING_REQUIRED": "needs manual handling in Alma",
    "SKIPPED": "skipped by Alma",
    "SYSTEM_ABORTED": "stopped by Alma",
    "USER_ABORTED": "cancelled in Alma",
}
OUTCOME_EMOJI = {"success": ":white_check_mark:", "warning": ":warning:", "failure": ":x:"}

# The mark next to what differs between candidates.
DIFFERS_MARK = ":small_orange_diamond:"

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


def render(name: str, **context: Any) -> Message:
    """Renders `templates/<name>.json.j2` into a Message."""
    rendered = environment().get_template(f"{name}.json.j2").render(**context)
    data = redaction.redact_all(json.loads(rendered))  # no configured secret ever reaches Slack
    return Message(text=data["text"], blocks=data["blocks"])


# --- the messages -----------------------------------------------------------------------


def help_message() -> Message:
    return render("help")


def usage_message(problem: str) -> Message:
    return render("usage", problem=problem)


def error_message(problem: str) -> Message:
    return render("error", problem=problem)


def match_message(match: Match, *, can_send_to_pm: bool = True) -> Message:
    shown = match.candidates[:MAX_CANDIDATES_SHOWN]
    return render(
        "match",
        match=match,
        verdict=Verdict(match.verdict),
        shown=shown,
        hidden=len(match.candidates) - len(shown),
        differing=match.candidate_differences,
        send_button=(
            can_send_to_pm and match.verdict == Verdict.MULTI and match.iz is not None
        ),
    )


def preview_message(
    set_: AlmaSet, counts: dict[str, int], examples: dict[str, list[str]], api_calls: int
) -> Message:
    known = [v.value for v in VERDICT_ORDER]
    rows = []
    for key in known + [k for k in counts if k not in known]:
        verdict = Verdict(key) if key in known else None
        rows.append(
            {
                "label": VERDICTS[verdict].label if verdict else key,
                "note": VERDICTS[verdict].note if verdict else "",
                "count": counts.get(key, 0),
                "examples": list(examples.get(key, ()))[:MAX_EXAMPLES_SHOWN],
                "more_examples": max(0, len(examples.get(key, ())) - MAX_EXAMPLES_SHOWN),
            }
        )
    return render(
        "preview",
        set=set_,
        rows=rows[:10],  # a section holds at most 10 fields
        checked=sum(counts.values()),
        api_calls=api_calls,
    )


def link_job_message(job: LinkJob) -> Message:
    return render("link_job", job=job)


def job_report_message(report: JobReport) -> Message:
    others = list(report.other_counters)
    alerts = list(report.alerts)
    return render(
        "job_report",
        report=report,
        job=report.link_job,
        multi_matched=report.counts.get("multi_matched", 0),
        others=others[:MAX_LIST_LINES],
        more_others=max(0, len(others) - MAX_LIST_LINES),
        alerts=alerts[:MAX_LIST_LINES],
        more_alerts=max(0, len(alerts) - MAX_LIST_LINES),
    )


def jobs_message(jobs: list[LinkJob]) -> Message:
    newest_first = sorted(jobs, key=lambda j: (j.created_at or "", j.id), reverse=True)
    shown = newest_first[:MAX_JOBS_SHOWN]
    return render(
        "jobs",
        jobs=shown,
        total=len(jobs),
        running=sum(1 for j in jobs if j.state == "running"),
        hidden=len(jobs) - len(shown),
    )


def working_message(action: str, subject: str) -> Message:
    """The ack while Alma works: `action` is ours, `subject` is what the cataloger typed."""
    return render("working", action=action, subject=subject)


def link_requested_message(job: LinkJob, report_channel: str) -> Message:
    """The requester's answer to /nz link: queued, started or refused."""
    return render("link_requested", job=job, report_channel=report_channel)


def not_allowed_message(report_channel: str) -> Message:
    return render("not_allowed", report_channel=report_channel)


def not_linked_message(members) -> Message:
    """A command from a channel of no member institution: which channels are whose."""
    return render("not_linked", members=[
        {"name": m.name, "code": m.code, "channel_links": ", ".join(f"<#{c}>" for c in m.channels[:5])}
        for m in members])


def cases_found_message(count: int) -> Message:
    return render("cases_found", count=count)


def recheck_failed_message(set_id: str, tries: int, reason: str) -> Message:
    return render("recheck_failed", set_id=set_id, tries=tries, reason=reason)


def unreadable_found_message(mms_ids: list[str]) -> Message:
    """After a link job: the set's records whose MARC cannot be read (the first 50 named)."""
    return render("unreadable_found", mms_ids=mms_ids, LISTED=50)


def alma_blocked_message(problem: str) -> Message:
    """Why background work waits (a permission the key lacks, the quota spent): said once."""
    return render("alma_blocked", problem=problem)


# --- multi-match cases ------------------------------------------------------------------
#
# The case message is the Program Manager's place to decide; its buttons (live only while
# the case is open or failed) carry unique action ids: see bot/action_ids.py for the
# f"{LINK_CANDIDATE}:{n}" and f"{CASE_PAGE}:prev|next" suffixes and action_ids.pattern().

from math import ceil  # noqa: E402

from alma.cards import RecordCard, differences  # noqa: E402
from nzbot.cases import DECIDABLE, UNSETTLED  # noqa: E402
from nzbot.linkroute import MANUAL, MERGE, TOKEN, Route  # noqa: E402
from nzbot.store import Case  # noqa: E402

CASE_CANDIDATES_PER_PAGE = 5  # candidate cards (each with its button) on one page
CASE_COMPACT_PER_SECTION = 8  # one-line candidates in one section, once a case is settled
# Sections of one-line candidates at most: with the rest of a settled case message that
# stays far below Slack's 50 blocks however many candidates there are ("…and N more").
CASE_COMPACT_SECTIONS = 5
MAX_CASES_LISTED = 40  # lines in /nz cases
CASE_LINES_PER_SECTION = 4  # /nz cases lines in one section
MAX_PM_MENTIONED = 10
CASE_STATE_WORDS = {
    "open": "waiting for a decision",
    "failed": "link failed, waiting for a new decision",
    "deciding": "decided, linking in Alma",
    "linking": "decided, linking in Alma",
    "linked": "linked",
    "skipped": "skipped for now",
}
_MAX_URL = 400
_URL_FORBIDDEN = re.compile(r"[\s<>|]")


def handed_off(case: Case) -> bool:
    """The case waits for a person to link it in the Metadata Editor."""
    route = Route.decode(case.route)
    return route is not None and route.kind == MANUAL


def safe_link(url: Any) -> str | None:
    """A URL fit for `<url|text>`: http(s) only, no characters that would end the token,
    `&` as Slack wants it. None for anything else."""
    text = "" if url is None else str(url)
    if not text.startswith(("https://", "http://")) or len(text) > _MAX_URL:
        return None
    if _URL_FORBIDDEN.search(text):
        return None
    return text.replace("&", "&amp;")


def _case_cards(case: Case) -> tuple[RecordCard, list[RecordCard]]:
    if case.iz_card:
        iz = RecordCard.from_dict(case.iz_card)
        if not iz.mms_id:
            iz = RecordCard.from_dict({**case.iz_card, "mms_id": case.iz_mms_id})
    else:
        iz = RecordCard(mms_id=case.iz_mms_id or "", title=case.iz_title or "")
    return iz, [RecordCard.from_dict(c) for c in case.candidates]


def case_message(case: Case, *, page: int = 0, institution: str = "") -> Message:
    """The Program Manager's message for one case; `page` is the page of candidates shown
    (0-based, clamped) while the case is open or failed."""
    iz, candidates = _case_cards(case)
    total = len(candidates)
    pages = max(1, ceil(total / CASE_CANDIDATES_PER_PAGE))
    page = min(max(int(page), 0), pages - 1)
    start = page * CASE_CANDIDATES_PER_PAGE
    decidable = case.state in DECIDABLE
    chosen = case.chosen_nz_mms_id or ""
    if decidable:
        full = list(enumerate(candidates[start : start + CASE_CANDIDATES_PER_PAGE], start + 1))
        compact: list[tuple[int, RecordCard]] = []
    elif total <= CASE_CANDIDATES_PER_PAGE:
        full, compact = list(enumerate(candidates, 1)), []
    else:  # settled with many: the chosen one in full, the others one line each
        full = [(n, c) for n, c in enumerate(candidates, 1) if chosen and c.mms_id == chosen]
        compact = [(n, c) for n, c in enumerate(candidates, 1) if not (chosen and c.mms_id == chosen)]
    listed = CASE_COMPACT_PER_SECTION * CASE_COMPACT_SECTIONS
    compact, compact_hidden = compact[:listed], max(0, len(compact) - listed)
    compact_sections = [
        compact[i : i + CASE_COMPACT_PER_SECTION]
        for i in range(0, len(compact), CASE_COMPACT_PER_SECTION)
    ]
    return render(
        "case",
        case=case,
        iz=iz,
        total=total,
        page=page,
        pages=pages,
        first=start + 1,
        last=min(start + CASE_CANDIDATES_PER_PAGE, total),
        full=full,
        compact_sections=compact_sections,
        compact_hidden=compact_hidden,
        differing=differences(candidates),
        decidable=decidable,
        chosen=chosen,
        manual=handed_off(case),
        state_words=CASE_STATE_WORDS.get(case.state, case.state or "unknown"),
        institution=institution,
        **_route_context(case),
    )


def _route_context(case: Case) -> dict[str, Any]:
    """What the case message says about the route: the token on the records, the merge
    the Program Manager is asked for, whom a hand-off went to."""
    route = Route.decode(case.route)
    chosen = case.chosen_nz_mms_id or ""
    return {
        "route_kind": route.kind if route else "",
        "token": route.identifier if route and route.kind == TOKEN else "",
        "duplicates": [m for m in case.candidate_ids if m != chosen],
        "handed_to": case.handed_to,
        "from_lookup": bool(case.requested_by),
    }


def case_handoff_message(case: Case, revealed_by_job: bool) -> Message:
    """The cataloger's steps for a link only the Metadata Editor can make, posted in the
    thread of the job that revealed the case (or in the report channel)."""
    return render("case_handoff", case=case, in_thread=revealed_by_job)


def cases_message(cases: list[Case], links: dict[int, str], total: int | None = None) -> Message:
    """/nz cases: the unsettled cases, newest first; `links` maps case id to the permalink
    of its message (chat.getPermalink); `total` when `cases` holds only the newest."""
    open_cases = [c for c in cases if c.state in UNSETTLED]
    newest_first = sorted(open_cases, key=lambda c: (c.created_at or "", c.id), reverse=True)
    shown = newest_first[:MAX_CASES_LISTED]
    rows = [
        {
            "case": c,
            "link": safe_link(links.get(c.id)),
            "state_words": (
                "handed off to the Metadata Editor"
                if c.state in ("deciding", "linking") and handed_off(c)
                else "waiting for the NZ duplicates to be merged"
                if c.state == "linking" and _route_context(c)["route_kind"] == MERGE
                else CASE_STATE_WORDS.get(c.state, c.state)
            ),
        }
        for c in shown
    ]
    return render(
        "cases",
        sections=[
            rows[i : i + CASE_LINES_PER_SECTION] for i in range(0, len(rows), CASE_LINES_PER_SECTION)
        ],
        total=max(total or 0, len(open_cases)),
        hidden=max(total or 0, len(open_cases)) - len(shown),
    )


def case_outcome_message(case: Case) -> Message:
    """Posted in the thread of the link job that revealed the case: how it ended."""
    return render("case_outcome", case=case, manual=handed_off(case), **_route_context(case))


def not_pm_message(pm_users: tuple[str, ...]) -> Message:
    """Ephemeral, for someone other than the Program Manager who clicks a case button."""
    users = tuple(pm_users)
    return render(
        "not_pm",
        users=users[:MAX_PM_MENTIONED],
        more=max(0, len(users) - MAX_PM_MENTIONED),
    )


def case_sent_message(case: Case, new: bool, pm_users: tuple[str, ...]) -> Message:
    """The cataloger's answer to "Send to the Program Manager"."""
    return render("case_sent", case=case, new=new, users=list(pm_users[:MAX_PM_MENTIONED]))


def already_decided_message(case: Case) -> Message:
    """Ephemeral, for a click on a case that someone already decided."""
    return render("already_decided", case=case, state_words=CASE_STATE_WORDS.get(case.state, case.state))


def cases_csv_message(csv_text: str, rows: int | None = None) -> Message:
    """/nz cases csv: the decisions as CSV in a code block (the CLI gives the whole file);
    `rows`, the number of cases, when `csv_text` holds only the first."""
    return render("cases_csv", csv_text=csv_text, rows=rows if rows is not None else max(0, csv_text.count("\n") - 1))


# --- the Program Manager's queue -------------------------------------------------------

HOME_JOBS_SHOWN = 40  # a Home tab holds 100 blocks: one per job, and a few more
STATE_WORDS = {"open": "to decide", "failed": "failed, to decide again", "deciding": "decided",
               "linking": "being linked", "linked": "linked", "skipped": "skipped"}


def _states_line(counts: dict[str, int]) -> str:
    shown = [f"{number(counts[s])} {STATE_WORDS[s]}" for s in STATE_WORDS if counts.get(s)]
    return " \u00b7 ".join(shown) or "no cases"


def queue_message(job: LinkJob | None, counts: dict[str, int], institution: str = "") -> Message:
    """The Program Manager's one message for a job's cases, with "Review cases";
    `institution` names the member whose job it is (consortium mode)."""
    return render("queue", job=job, counts=counts, states=_states_line(counts), institution=institution)


def review_message(case: Case, job: LinkJob | None, counts: dict[str, int], institution: str = "") -> Message:
    """One case of the queue, shown in the queue message in place of the last one;
    `institution` names the case's member (consortium mode)."""
    message = case_message(case, institution=institution)
    left = counts.get("open", 0) + counts.get("failed", 0)
    where = f"from set *{mrkdwn(job.set_name)}*" if job else "in the queue"
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate_to(
        f":inbox_tray: Reviewing {plural(left, 'case')} still to decide {where}; "
        "after each decision the next appears here.", CONTEXT_LIMIT)}]}
    blocks = [note, *message.blocks] if len(message.blocks) < 50 else list(message.blocks)
    if case.state not in DECIDABLE and len(blocks) < 50:  # decided, its steps still shown
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": action_ids.REVIEW_CASES, "value": str(job.id) if job else "all",
            "text": {"type": "plain_text", "text": "Next case", "emoji": True}}]})
    return Message(text=message.text, blocks=blocks)


def home_view(rows: list[tuple[LinkJob | None, dict[str, int]]]) -> dict[str, Any]:
    """views.publish's view for the Home tab: the queue by job, oldest first."""
    entries = [{"name": job.set_name if job else "Sent from lookups",
                "when": slack_date(job.created_at) if job and job.created_at else "",
                "states": _states_line(counts)} for job, counts in rows]
    waiting = sum(c.get("open", 0) + c.get("failed", 0) for _, c in rows)
    busy = sum(c.get("deciding", 0) + c.get("linking", 0) for _, c in rows)
    message = render("home", rows=entries[:HOME_JOBS_SHOWN], hidden=max(0, len(entries) - HOME_JOBS_SHOWN),
                     waiting=waiting, busy=busy)
    return {"type": "home", "blocks": message.blocks}
