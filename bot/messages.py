"""nzbot's Slack messages for the commands and the link jobs: each builder chooses what
goes in and renders its template (bot/rendering.py). The multi-match cases' messages are
bot/case_messages.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from alma.cards import compare, described
from alma.marc import record_from_xml
from alma.matching import Match, Verdict
from alma.models import AlmaSet
from alma.suggestion import DEFAULT_RULES, Rule, recommend
from bot.rendering import Message, render, render_view
from bot.wording import counted_by_rule
from nzbot.report import JobReport
from nzbot.sets import PASTE_LIMIT, SetChoice
from nzbot.states import JobState
from nzbot.schedules import Listed, schedule_words
from nzbot.store import KeptRecord, LinkJob, Schedule, ScheduleRun
from nzbot.text import VERDICT_ORDER, VERDICTS

# --- how much we show -------------------------------------------------------------------
MAX_CANDIDATES_SHOWN = 10  # candidate cards in one /nz match answer
MAX_JOBS_SHOWN = 20  # link jobs in one /nz jobs answer
MAX_EXAMPLES_SHOWN = 5  # example MMS IDs per verdict in a preview
MAX_LIST_LINES = 20  # other counters, alerts


# --- the messages -----------------------------------------------------------------------


def help_message(typed_to_me: bool = False) -> Message:
    """/nz help; `typed_to_me`: the answer to a message typed in the bot's Messages tab,
    which nzbot does not read as a command (it says so first)."""
    return render("help", typed_to_me=typed_to_me)


def usage_message(problem: str) -> Message:
    return render("usage", problem=problem)


def error_message(problem: str) -> Message:
    return render("error", problem=problem)


def match_message(match: Match, *, can_send_to_pm: bool = True, can_link: bool = False,
                  rules: Sequence[Rule] = DEFAULT_RULES) -> Message:
    """/nz match's answer: the candidates side by side and the suggested pick (`rules`, in
    order). `can_link`: the asker may start link jobs here, so each candidate of an IZ
    record's unique or multi-match has "Link to this record" (Method 2 of the guidance)."""
    shown = match.candidates[:MAX_CANDIDATES_SHOWN]
    return render(
        "match",
        match=match,
        verdict=Verdict(match.verdict),
        shown=shown,
        hidden=len(match.candidates) - len(shown),
        comparison=compare(list(match.candidates)),
        iz_rows=described(match.iz),
        recommendation=recommend(match.iz, match.candidates, rules),
        send_button=(
            can_send_to_pm and match.verdict == Verdict.MULTI and match.iz is not None
        ),
        link_buttons=can_link and match.iz is not None and match.verdict in (Verdict.UNIQUE, Verdict.MULTI),
    )


def preview_message(
    set_: AlmaSet, counts: dict[str, int], examples: dict[str, list[str]], api_calls: int,
    at_risk: int = 0, at_risk_examples: list[str] = (), link_contribute: bool | None = None,
    from_oclc_merge: int = 0,
) -> Message:
    """/nz preview's answer; `at_risk`: records that will link but carry local-looking fields
    without $9 LOCAL (the link job would drop them), a few named. `link_contribute`: the
    preview of a set from the modal has "Link these N records" (contributing or not).
    `from_oclc_merge`: the multi-matches that come from an OCLC merge."""
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
        at_risk=at_risk,
        at_risk_examples=list(at_risk_examples)[:MAX_EXAMPLES_SHOWN],
        from_oclc_merge=from_oclc_merge,
        link_button=None if link_contribute is None else {"contribute": link_contribute},
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


def jobs_message(jobs: list[LinkJob], by_state: dict[str, int] | None = None) -> Message:
    """The newest link jobs (at most MAX_JOBS_SHOWN); `by_state` counts all of them (the
    store's link_job_counts), so the answer says how many older ones are not shown."""
    newest_first = sorted(jobs, key=lambda j: (j.created_at or "", j.id), reverse=True)
    shown = newest_first[:MAX_JOBS_SHOWN]
    by_state = by_state if by_state is not None else Counter(j.state for j in jobs)
    total = sum(by_state.values())
    return render(
        "jobs",
        jobs=shown,
        total=total,
        running=by_state.get(JobState.RUNNING, 0),
        hidden=max(0, total - len(shown)),
    )


def working_message(action: str, subject: str) -> Message:
    """The ack while Alma works: `action` is ours, `subject` is what the cataloger typed."""
    return render("working", action=action, subject=subject)


def link_requested_message(job: LinkJob, report_channel: str) -> Message:
    """The requester's answer to /nz link: queued, started or refused."""
    return render("link_requested", job=job, report_channel=report_channel)


def schedule_made_message(schedule: Schedule, next_run: str, zone: str) -> Message:
    """The answer to /nz schedule: what runs when, and when first."""
    return render("schedule_made", schedule=schedule, words=schedule_words(schedule), next_run=next_run, zone=zone)


def schedules_message(listed: list[Listed], zone: str) -> Message:
    """/nz schedules: this member's schedules, each with its id, set, when, next run and last result."""
    return render("schedules", listed=listed, zone=zone)


def schedule_removed_message(schedule_id: int) -> Message:
    return render("schedule_removed", schedule_id=schedule_id)


def schedule_run_message(schedule: Schedule, run: ScheduleRun, due_words: str) -> Message:
    """In the report channel, once: a schedule's run was skipped, or waits for Alma."""
    return render("schedule_run", schedule=schedule, run=run, words=schedule_words(schedule), due=due_words)


def not_allowed_message(report_channel: str) -> Message:
    return render("not_allowed", report_channel=report_channel)


def not_linked_message(members) -> Message:
    """A command from a channel of no member institution: which channels are whose."""
    return render("not_linked", members=[
        {"name": m.name, "code": m.code, "channel_links": ", ".join(f"<#{c}>" for c in m.channels[:5])}
        for m in members])


MAX_KEPT_SHOWN = 3  # kept copies of a record in one /nz history answer
KEPT_MARC_SHOWN = 2800  # characters of each (a section holds 3,000)


def history_message(iz_mms_id: str, kept: list[KeptRecord]) -> Message:
    """/nz history: the record as it was before each link nzbot made, newest first."""
    versions = [{"kept": k, "marc": str(record_from_xml(k.marc_xml))} for k in kept[:MAX_KEPT_SHOWN]]
    return render("history", iz_mms_id=iz_mms_id, versions=versions, hidden=max(0, len(kept) - MAX_KEPT_SHOWN),
                  marc_limit=KEPT_MARC_SHOWN)


def cases_found_message(count: int, suggested: dict[Rule, int] | None = None) -> Message:
    """The re-check's cases in the job's thread; `suggested`: those with a suggested pick,
    by rule (OCLC's surviving record: a multi-match from an OCLC merge)."""
    suggested = suggested or {}  # counted_by_rule names only the rules with cases
    return render("cases_found", count=count, suggested_total=sum(suggested.values()),
                  by_rule=counted_by_rule(suggested),
                  from_oclc_merge=suggested.get(Rule.OCLC_SURVIVOR, 0))


def recheck_failed_message(set_id: str, tries: int, reason: str) -> Message:
    return render("recheck_failed", set_id=set_id, tries=tries, reason=reason)


def unreadable_found_message(mms_ids: list[str]) -> Message:
    """After a link job: the set's records whose MARC cannot be read (the first 50 named)."""
    return render("unreadable_found", mms_ids=mms_ids, LISTED=50)


def alma_blocked_message(problem: str) -> Message:
    """Why background work waits (a permission the key lacks, the quota spent): said once."""
    return render("alma_blocked", problem=problem)


# --- sets from Slack: the modal of `/nz link` with no set, and the shortcut -------------

MAX_SHORTCUT_LOOKUPS = 10  # identifiers of one message "Check NZ matches" looks up


def link_modal_view(channel: str, job_sets: list[SetChoice], alma_sets: list[SetChoice], *, alma_note: str = "", paste: str = "",
                    contribute: bool = False, preview: bool = True, problem: str = "") -> dict:
    """The modal: a set to choose (`job_sets` of this member's link jobs, `alma_sets` from
    Alma), or MMS IDs to paste; contribute (off unless chosen), preview first (on)."""
    return render_view("link_modal", channel=channel, job_sets=list(job_sets), alma_sets=list(alma_sets),
                       alma_note=alma_note, paste=paste, contribute=contribute, preview=preview,
                       problem=problem, paste_limit=PASTE_LIMIT)


def modal_notice_view(title: str, message: Message, channel: str = "") -> dict:
    """A modal showing `message` in place of the form: checking, done, or refused."""
    return render_view("modal_notice", title=title, blocks=message.blocks, channel=channel)


def pasted_set_message(set_: AlmaSet, repeats: int, *, preview: bool, contribute: bool) -> Message:
    """The set made of a cataloger's paste, with the repeats dropped, and what comes next."""
    return render("pasted_set", set=set_, repeats=repeats, preview=preview, contribute=contribute)


def shortcut_matches_message(identifiers: list[str]) -> Message:
    """"Check NZ matches": the identifiers answered (at most MAX_SHORTCUT_LOOKUPS), the rest named."""
    return render("shortcut_matches", shown=identifiers[:MAX_SHORTCUT_LOOKUPS],
                  left_out=identifiers[MAX_SHORTCUT_LOOKUPS:], limit=MAX_SHORTCUT_LOOKUPS)
