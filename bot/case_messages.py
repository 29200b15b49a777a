"""nzbot's Slack messages about multi-match cases: the Program Manager's case message (a
page of candidates at a time), /nz cases, the hand-off to the cataloger, the outcome in
the link job's thread, and the refusals. The case message is the Program Manager's place
to decide; its buttons (live only while the case is open or failed) carry unique action
ids and values written by bot/action_ids.py. Where a case stands is worded once, in
nzbot/states.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from math import ceil
from typing import Any

from alma.cards import RecordCard, compare, described
from alma.suggestion import Rule
from bot.wording import counted_by_rule
from bot.rendering import (CONTEXT_LIMIT, Message, mention, mrkdwn, number, plural, render, slack_date,
                           truncate_to)
from nzbot.states import (CASE_COUNTED, DECIDABLE, HANDED_TO_WORDS, ROUTE_WORDS, UNSETTLED, CaseState, PmNotice,
                          RouteKind)
from nzbot.store import Case, LinkJob, LinkToken

CASE_CANDIDATES_PER_PAGE = 5  # candidate cards (each with its button) on one page
CASE_COMPACT_PER_SECTION = 8  # one-line candidates in one section, once a case is settled
# Sections of one-line candidates at most: with the rest of a settled case message that
# stays far below Slack's 50 blocks however many candidates there are ("…and N more").
CASE_COMPACT_SECTIONS = 5
MAX_CASES_LISTED = 40  # lines on one page of /nz cases
CASE_LINES_PER_SECTION = 4  # /nz cases lines in one section
MAX_PM_MENTIONED = 10
_MAX_URL = 400
_URL_FORBIDDEN = re.compile(r"[\s<>|]")


def handed_off(case: Case) -> bool:
    """The case waits for a person to link it in the Metadata Editor."""
    route = case.route
    return route is not None and route.kind == RouteKind.MANUAL


def safe_link(url: Any) -> str | None:
    """A URL fit for `<url|text>`: http(s) only, no characters that would end the token,
    `&` as Slack wants it. None for anything else."""
    text = "" if url is None else str(url)
    if not text.startswith(("https://", "http://")) or len(text) > _MAX_URL:
        return None
    if _URL_FORBIDDEN.search(text):
        return None
    return text.replace("&", "&amp;")


def case_message(case: Case, *, page: int = 0, institution: str = "") -> Message:
    """The Program Manager's message for one case; `page` is the page of candidates shown
    (0-based, clamped) while the case is open or failed."""
    iz, candidates = case.iz, list(case.candidates)
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
        comparison=compare(candidates),
        iz_rows=described(iz),
        decidable=decidable,
        chosen=chosen,
        manual=handed_off(case),
        state_words=case.state.words,
        institution=institution,
        **_route_context(case),
    )


def _route_context(case: Case) -> dict[str, Any]:
    """What the case message says about the route: the token on the records, the merge
    the Program Manager is asked for, whom a hand-off went to."""
    route = case.route
    chosen = case.chosen_nz_mms_id or ""
    return {
        "route_kind": route.kind if route else "",
        "token": route.identifier if route and route.kind == RouteKind.TOKEN else "",
        "duplicates": [m for m in case.candidate_ids if m != chosen],
        "handed_to": case.handed_to,
        "from_lookup": bool(case.requested_by),
    }


def case_handoff_message(case: Case, revealed_by_job: bool) -> Message:
    """The cataloger's steps for a link only the Metadata Editor can make, posted in the
    thread of the job that revealed the case (or in the report channel)."""
    return render("case_handoff", case=case, in_thread=revealed_by_job)


def cases_pages(total: int) -> int:
    """How many pages /nz cases has for `total` open cases (one, when there are none)."""
    return max(1, ceil(total / MAX_CASES_LISTED))


def cases_message(cases: list[Case], links: dict[int, str], total: int | None = None, page: int = 1) -> Message:
    """/nz cases: one page of the unsettled cases, newest first; `links` maps case id to the
    permalink of its message (chat.getPermalink); `total` when `cases` holds only page `page`
    (1-based)."""
    open_cases = [c for c in cases if c.state in UNSETTLED]
    newest_first = sorted(open_cases, key=lambda c: (c.created_at or "", c.id), reverse=True)
    shown = newest_first[:MAX_CASES_LISTED]
    rows = [
        {
            "case": c,
            "link": safe_link(links.get(c.id)),
            "state_words": case_state_words(c),
        }
        for c in shown
    ]
    in_all = max(total or 0, len(open_cases))
    pages = cases_pages(in_all)
    page = min(max(int(page), 1), pages)
    return render(
        "cases",
        sections=[
            rows[i : i + CASE_LINES_PER_SECTION] for i in range(0, len(rows), CASE_LINES_PER_SECTION)
        ],
        total=in_all,
        page=page,
        pages=pages,
        first=(page - 1) * MAX_CASES_LISTED + 1,
        last=(page - 1) * MAX_CASES_LISTED + len(shown),
    )


def case_state_words(case: Case, *, handed_to: bool = False) -> str:
    """Where a case stands, in the words of nzbot/states.py: its route says more than
    "linking" when a person has the next step (a hand-off, a merge); with `handed_to`, a
    hand-off names whom it went to (mrkdwn, the mention made by `mention`)."""
    route = case.route
    if route is not None and route.kind in ROUTE_WORDS and case.state in (CaseState.DECIDING, CaseState.LINKING):
        if route.kind == RouteKind.MANUAL and handed_to:
            return HANDED_TO_WORDS.format(whom=mention(case.handed_to) if case.handed_to else "the report channel")
        if route.kind == RouteKind.MANUAL or case.state == CaseState.LINKING:
            return ROUTE_WORDS[route.kind]
    return case.state.words


def decided_line(case: Case) -> str:
    """The review message's context line on the case just decided: "Case 12 (title): …"."""
    title = f" ({mrkdwn(truncate_to(case.iz_title, 100))})" if case.iz_title else ""
    return truncate_to(f"Case {case.id}{title}: {case_state_words(case, handed_to=True)}", CONTEXT_LIMIT)


def case_outcome_message(case: Case) -> Message:
    """Posted in the thread of the link job that revealed the case: how it ended."""
    return render("case_outcome", case=case, manual=handed_off(case), **_route_context(case))


def pm_notice_message(case: Case, what: PmNotice, token: LinkToken | None = None) -> Message:
    """For the Program Manager, in the thread of the queue message: an outcome that came
    after the decision (a PmNotice). A failed case comes with its buttons."""
    nz_id = mrkdwn(truncate_to(token.nz_mms_id, 60)) if token else ""
    field = truncate_to(f"035 $a {token.token}", 200).replace("`", "'") if token else ""
    message = render("pm_notice", case=case, what=what, decided=decided_line(case), nz_id=nz_id, field=field)
    if what == PmNotice.FAILED and case.state in DECIDABLE:
        buttons = case_message(case)
        if len(message.blocks) + len(buttons.blocks) <= 50:  # the case itself, to decide again here
            message = Message(text=message.text, blocks=[*message.blocks, *buttons.blocks])
    return message


def cataloger_link_message(case: Case, report_channel: str = "") -> Message:
    """A cataloger's own link (Method 2), in place of their /nz match answer as it moves."""
    return render("cataloger_link", case=case, manual=handed_off(case), report_channel=report_channel,
                  state_words=case_state_words(case))


def home_elsewhere_view(members) -> dict[str, Any]:
    """views.publish's view for the Home tab of someone who is not the Program Manager:
    the queue (every member's cases) is not theirs to see; which channel is whose instead."""
    message = render("home_elsewhere", members=[
        {"name": m.name, "channel_links": ", ".join(f"<#{c}>" for c in (m.channels or (m.report_channel,))[:5])}
        for m in members])
    return {"type": "home", "blocks": message.blocks}


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
    return render("already_decided", case=case, state_words=case.state.words)


def cases_csv_message(csv_text: str, rows: int | None = None) -> Message:
    """/nz cases csv: the decisions as CSV in a code block (the CLI gives the whole file);
    `rows`, the number of cases, when `csv_text` holds only the first."""
    return render("cases_csv", csv_text=csv_text, rows=rows if rows is not None else max(0, csv_text.count("\n") - 1))


# --- the Program Manager's queue -------------------------------------------------------

HOME_JOBS_SHOWN = 40  # a Home tab holds 100 blocks: one per job, and a few more
ATTENTION_TOKENS = 5  # temporary 035s left on NZ records, named on the Home tab


def _states_line(counts: dict[str, int]) -> str:
    shown = [f"{number(counts[state])} {words}" for state, words in CASE_COUNTED.items() if counts.get(state)]
    return " \u00b7 ".join(shown) or "no cases"


def queue_message(job: LinkJob | None, counts: dict[str, int], institution: str = "", *,
                  decided: Case | None = None, suggested: dict[Rule, int] | None = None,
                  accepted: str = "") -> Message:
    """The Program Manager's one message for a job's cases, with "Review cases";
    `institution` names the member whose job it is (consortium mode); with `decided`, a
    line on the case last decided in it (where it went, how it stands). `suggested`: the
    cases left to decide that have a suggested pick, by rule ("Accept all N suggestions");
    `accepted`: the line on what "Accept all" just decided."""
    suggested = suggested or {}  # counted_by_rule names only the rules with cases
    return render("queue", job=job, counts=counts, states=_states_line(counts), institution=institution,
                  decided=accepted or (decided_line(decided) if decided else ""),
                  suggested_total=sum(suggested.values()), by_rule=counted_by_rule(suggested))


def accepted_all_message(line: str) -> Message:
    return render("accepted_all", line=line)


def accepted_all_line(accepted: int, by_rule: dict[Rule, int], user: str) -> str:
    """What "Accept all" decided, as the queue message's line."""
    if not accepted:
        return f"{mention(user)} accepted no suggestion: every suggested case had been decided already."
    return (f":bulb: {mention(user)} accepted {plural(accepted, 'suggestion')} ({counted_by_rule(by_rule)}): "
            "each is being linked and will be read back in Alma.")


def review_message(case: Case, job: LinkJob | None, counts: dict[str, int], institution: str = "", *,
                   decided: Case | None = None, suggested: dict[Rule, int] | None = None) -> Message:
    """One case of the queue, shown in the queue message in place of the last one;
    `institution` names the case's member (consortium mode); with `decided`, a line on
    the case decided just before (whom a hand-off went to, ...); with `suggested` (the
    job's cases with a suggested pick, by rule), "Accept all N suggestions"."""
    message = case_message(case, institution=institution)
    decided_shown = decided is not None and len(message.blocks) < 49
    blocks = len(message.blocks) + decided_shown
    note = blocks < 50
    suggested = suggested or {}  # counted_by_rule names only the rules with cases
    next_button = case.state not in DECIDABLE  # decided, its steps still shown
    buttons_fit = blocks + note < 50  # one actions block holds "Next case" and "Accept all"
    return render("review", case=message, job=job, note=note,
                  decided=decided_line(decided) if decided_shown else "",
                  left=counts.get(CaseState.OPEN, 0) + counts.get(CaseState.FAILED, 0),
                  next_button=next_button and buttons_fit,
                  suggested_total=sum(suggested.values()) if buttons_fit else 0, by_rule=counted_by_rule(suggested))


def home_view(rows: list[tuple[LinkJob | None, dict[str, int]]], failed: list[Case] = (),
              failed_total: int = 0, stuck: list[LinkToken] = (),
              member: Callable[[Case | LinkJob], str] = lambda row: "", trend: str = "") -> dict[str, Any]:
    """views.publish's view for the Home tab: what needs the Program Manager's attention
    (failed links back to decide, temporary 035s left on NZ records), then the queue by
    job, oldest first. `member` names the institution of a case or job (consortium mode:
    two members' sets may share a name). `trend`: linked records and open cases by week, as bars."""
    attention = [f"{member(c)}: {decided_line(c)}" if member(c) else decided_line(c) for c in failed]
    if failed_total > len(failed):
        attention.append(f"\u2026and {plural(failed_total - len(failed), 'more failed case')}")
    attention += [truncate_to(f"NZ record `{mrkdwn(t.nz_mms_id)}` still carries `035 $a "
                              f"{str(t.token).replace('`', chr(39))}` (case {t.case_id}): delete it in the "
                              "Metadata Editor", 300) for t in stuck[:ATTENTION_TOKENS]]
    if len(stuck) > ATTENTION_TOKENS:
        attention.append(f"\u2026and {plural(len(stuck) - ATTENTION_TOKENS, 'more temporary 035')}")
    entries = [{"name": job.set_name if job else "Sent from lookups",
                "member": member(job) if job else "",
                "when": slack_date(job.created_at) if job and job.created_at else "",
                "states": _states_line(counts)} for job, counts in rows]
    waiting = sum(c.get(CaseState.OPEN, 0) + c.get(CaseState.FAILED, 0) for _, c in rows)
    busy = sum(c.get(CaseState.DECIDING, 0) + c.get(CaseState.LINKING, 0) for _, c in rows)
    message = render("home", rows=entries[:HOME_JOBS_SHOWN], hidden=max(0, len(entries) - HOME_JOBS_SHOWN),
                     waiting=waiting, busy=busy, attention=attention, attention_count=failed_total + len(stuck),
                     trend=trend)
    return {"type": "home", "blocks": message.blocks}
