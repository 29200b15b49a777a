"""The figures' messages (/nz stats, the weekly digest, the Home tab's trend): tables in
monospace, and the trend as text bars (bot/rendering.py `bar`) that every Slack client
shows at a glance, with no image to upload (README, "The figures as a picture")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Sequence

from bot.rendering import Message, bar, mrkdwn, number, plural, render
from nzbot.stats import Figures, MemberFigures, Week

ROWS_PER_BLOCK = 30  # a code block of 30 table rows stays under a section's 3,000 characters
LINKED_BAR = 16  # cells: the linked records' bar
OPEN_BAR = 10  # cells: the open cases' bar


def stats_message(figures: Figures, *, every_member: bool, title: str = "Figures") -> Message:
    """One member's figures week by week; `every_member` (the Program Manager's view): every
    member side by side over the weeks, and the consortium's weeks added up."""
    whole = figures.consortium if every_member else figures.members[0]
    member = "" if every_member else figures.members[0].label
    return render("stats", title=title, member=member, span=weeks_span(figures.weeks), zone=figures.zone,
                  tables=_member_tables(figures) if every_member and len(figures.members) > 1 else _week_tables(whole),
                  waiting=waiting_line(whole, figures), trend=trend_block(whole),
                  fallback=_fallback(whole, figures))


def weeks_span(weeks: Sequence[Week]) -> str:
    """"15 Apr – 12 May 2024": the Monday of the first week to the Sunday of the last."""
    first, sunday = weeks[0].monday, weeks[-1].monday + timedelta(days=6)
    start = f"{first.day} {first:%b}" + (f" {first.year}" if first.year != sunday.year else "")
    return f"{start} \u2013 {sunday.day} {sunday:%b %Y}"


def week_label(week: Week) -> str:
    return f"{week.monday.day:>2} {week.monday:%b}"


def waiting_line(figures: MemberFigures, whole: Figures) -> str:
    if not figures.waiting:
        return "No case is waiting for the Program Manager now."
    days = figures.oldest_waiting_days(whole.as_of)
    oldest = "today" if days == 0 else "1 day ago" if days == 1 else f"{number(days)} days ago"
    cases = "1 case is" if figures.waiting == 1 else f"{number(figures.waiting)} cases are"
    return f"{cases} waiting for the Program Manager now; the oldest was opened {oldest}."


def trend_block(figures: MemberFigures) -> str:
    """Linked records and open cases (at each week's end), a bar a week, in monospace."""
    top_linked = max((w.linked for w in figures.weeks), default=0)
    top_open = max((w.open_at_end for w in figures.weeks), default=0)
    lines = [f"{'Week of':<7}  {'Linked records':<{LINKED_BAR + 7}}  Open cases"]
    for w in figures.weeks:
        linked = f"{bar(w.linked, top_linked, LINKED_BAR):<{LINKED_BAR}} {number(w.linked):>6}"
        lines.append(f"{week_label(w.week):<7}  {linked}  {bar(w.open_at_end, top_open, OPEN_BAR):<{OPEN_BAR}} "
                     f"{number(w.open_at_end)}")
    return "```\n" + "\n".join(lines) + "\n```"


# (heading, width, the figure) of each column, for a week's row and a member's row
RUN_COLUMNS = (("Runs", 5, "runs"), ("Linked", 8, "linked"), ("Imported", 9, "imported"),
               ("Skipped", 8, "skipped"), ("Multi-matched", 14, "multi_matched"))
CASE_COLUMNS = (("Opened", 7, "opened"), ("Decided", 8, "decided"), ("As suggested", 13, "accepted"))


def _week_tables(figures: MemberFigures) -> list[dict[str, Any]]:
    """Link jobs and cases, a row a week, and the totals."""
    def rows(columns, extra=()) -> list[str]:
        head = f"{'Week of':<8}" + "".join(f"{h:>{w}}" for h, w, _ in columns) + "".join(f"{h:>{w}}" for h, w in extra)
        body = [f"{week_label(w.week):<8}" + "".join(f"{number(getattr(w, f)):>{n}}" for _, n, f in columns)
                + ("" if not extra else f"{number(w.open_at_end):>{extra[0][1]}}") for w in figures.weeks]
        total = f"{'Total':<8}" + "".join(f"{number(figures.total(f)):>{n}}" for _, n, f in columns)
        return [head, *body, total]

    return [{"title": "Link jobs", "blocks": _code_blocks(rows(RUN_COLUMNS))},
            {"title": "Multi-match cases", "blocks": _code_blocks(rows(CASE_COLUMNS, (("Open at week's end", 20),)))}]


def _member_tables(figures: Figures) -> list[dict[str, Any]]:
    """Every member side by side, over all the weeks, and all members together."""
    width = max(12, *(len(m.code) for m in figures.members)) + 2
    everyone = figures.consortium
    everyone = MemberFigures("All members", "", everyone.weeks, everyone.waiting, everyone.oldest_waiting_since)
    runs = [f"{'Member':<{width}}" + "".join(f"{h:>{w}}" for h, w, _ in RUN_COLUMNS)]
    cases = [f"{'Member':<{width}}" + "".join(f"{h:>{w}}" for h, w, _ in CASE_COLUMNS) + f"{'Waiting':>9}{'Oldest':>8}"]
    for m in (*figures.members, everyone):
        name = mrkdwn(m.code or "(this IZ)")
        runs.append(f"{name:<{width}}" + "".join(f"{number(m.total(f)):>{w}}" for _, w, f in RUN_COLUMNS))
        days = m.oldest_waiting_days(figures.as_of)
        cases.append(f"{name:<{width}}" + "".join(f"{number(m.total(f)):>{w}}" for _, w, f in CASE_COLUMNS)
                     + f"{number(m.waiting):>9}" + f"{'' if days is None else f'{days} d':>8}")
    return [{"title": "Link jobs, by member", "blocks": _code_blocks(runs)},
            {"title": "Multi-match cases, by member (Oldest: the oldest waiting case's age)",
             "blocks": _code_blocks(cases)}]


def _code_blocks(lines: list[str]) -> list[str]:
    """The table's lines as monospace blocks, its heading over each (a section holds 3,000 characters)."""
    head, rows = lines[0], lines[1:]
    return ["```\n" + "\n".join([head, *rows[i:i + ROWS_PER_BLOCK]]) + "\n```"
            for i in range(0, max(1, len(rows)), ROWS_PER_BLOCK)]


def _fallback(figures: MemberFigures, whole: Figures) -> str:
    return (f"{plural(figures.total('linked'), 'record')} linked in {plural(figures.total('runs'), 'run')}, "
            f"{plural(figures.total('opened'), 'case')} opened, {number(figures.waiting)} waiting "
            f"({weeks_span(whole.weeks)})")
