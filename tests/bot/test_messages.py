"""The Slack messages: valid Block Kit within Slack's limits, outside text never able to
ping or link, and the content a cataloger needs actually there."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

import pytest

from alma.cards import Publication, RecordCard
from alma.matching import Match, Verdict
from alma.models import AlmaSet
from alma.oclc import OclcNumbers
from bot import action_ids
from bot.messages import (
    MAX_CANDIDATES_SHOWN,
    error_message,
    help_message,
    job_report_message,
    jobs_message,
    link_job_message,
    match_message,
    preview_message,
    usage_message,
)
from bot.rendering import Message, duration, mention, mrkdwn, progress_bar, truncate_to
from bot.wording import DIFFERS_MARK
from nzbot.report import job_report
from tests.bot.message_checks import (
    card,
    HOSTILE,
    HUGE,
    all_text,
    buttons,
    check_hostile_escaped,
    check_slack_rules,
)
from nzbot.store import LinkJob

assert len(HUGE) > 5000



# --- building values -------------------------------------------------------------------




IZ = card("9949620601852", holding_institutions=())


def multi(*candidates: RecordCard, iz: RecordCard | None = IZ) -> Match:
    return Match(iz, OclcNumbers(active=("52467191",)), None, Verdict.MULTI, tuple(candidates))


def link_job(**kwargs: Any) -> LinkJob:
    values: dict[str, Any] = dict(
        id=1,
        set_id="1234567890000561",
        set_name="Unlinked print books",
        set_size=1250,
        contribute=False,
        match_prefix="",
        requested_by="U024BE7LH",
        channel="C0123",
        state="queued",
        job_id="M85",
        instance_id=None,
        status=None,
        progress=0,
        counters=(),
        alerts=(),
        note=None,
        message_ts=None,
        report_ts=None,
        reconciled=False,
        created_at="2024-05-01T10:00:00+00:00",
        started_at=None,
        finished_at=None,
        reported_at=None,
    )
    values.update(kwargs)
    return LinkJob(**values)


FINISHED = link_job(
    state="reported",
    instance_id="8812345",
    status="COMPLETED_WARNING",
    progress=100,
    counters=(
        ("link_bib_to_nz.linked", "Linked", 1100),
        ("link_bib_to_nz.skipped", "Skipped", 120),
        ("link_bib_to_nz.multi_match", "Multi match", 30),
        ("link_bib_to_nz.mystery", "Records with unresolved holdings", 7),
    ),
    alerts=("Some records could not be processed",),
    started_at="2024-05-01T10:00:00+00:00",
    finished_at="2024-05-01T10:02:05+00:00",
)

SET = AlmaSet("1234567890000561", "Unlinked print books", "ITEMIZED", "BIB_MMS", 1250)


# --- checking any message --------------------------------------------------------------









# --- every message, many inputs ---------------------------------------------------------


def hostile_card(mms_id: str) -> RecordCard:
    return card(
        mms_id,
        title=HOSTILE,
        edition=HOSTILE,
        publication=Publication(HOSTILE, HOSTILE, HOSTILE),
        extent=HOSTILE,
        content_type=HOSTILE,
        cataloging_language=HOSTILE,
        holding_institutions=(HOSTILE,),
    )


FORTY = tuple(card(f"99{n:04d}00001451", extent=f"{100 + n * 50} p.") for n in range(40))

MATCHES = {
    "unique": Match(IZ, OclcNumbers(active=("52467191",)), None, Verdict.UNIQUE, (card("99160483400001451"),)),
    "multi": multi(card("99160483400001451"), card("99170000000001451", edition="2nd ed.")),
    "multi_40": multi(*FORTY),
    "linked": Match(IZ, OclcNumbers(active=("52467191",)), "99160483400001451", Verdict.LINKED),
    "none": Match(IZ, OclcNumbers(active=("52467191",)), None, Verdict.NONE),
    "no_oclc": Match(card("9949620601852", oclc_numbers=()), OclcNumbers(), None, Verdict.NO_OCLC),
    "ocn_asked": Match(None, OclcNumbers(active=("52467191",)), None, Verdict.MULTI, FORTY[:3]),
    "ocn_unreadable": Match(None, OclcNumbers(), None, Verdict.NO_OCLC),
    "empty_card": Match(RecordCard("9949620601852"), OclcNumbers(), None, Verdict.NO_OCLC),
    "empty_candidates": multi(RecordCard("99160483400001451"), RecordCard("99170000000001451")),
    "huge_title": multi(card("99160483400001451", title=HUGE), card("99170000000001451", title=HUGE), iz=card("9949620601852", title=HUGE)),
    "hostile": multi(hostile_card("99160483400001451"), hostile_card("99170000000001451"), iz=hostile_card("9949620601852")),
}

JOBS = {
    "queued": link_job(note="Alma is already running 3 jobs started by API: waiting for one to end"),
    "starting": link_job(state="starting", started_at="2024-05-01T10:00:05+00:00"),
    "running": link_job(state="running", instance_id="8812345", status="RUNNING", progress=60),
    "finishing": link_job(state="running", status="FINALIZING", progress=99),
    "finished": replace(FINISHED, state="finished"),
    "reporting": replace(FINISHED, state="reporting"),
    "reported": FINISHED,
    "failed": replace(FINISHED, status="FAILED", counters=()),
    "refused": link_job(state="refused", note="Alma refused: 5 runs of this job in the past hour (402223)"),
    "from_alma": link_job(requested_by="alma", state="running", progress=5),
    "empty": link_job(set_name="", set_size=0, job_id=None, created_at="", requested_by=""),
    "contribute_prefix": link_job(contribute=True, match_prefix="(AT-OBV)"),
    "huge": link_job(set_name=HUGE, note=HUGE, state="queued"),
    "hostile": link_job(set_name=HOSTILE, note=HOSTILE, requested_by=HOSTILE, match_prefix=HOSTILE,
                        alerts=(HOSTILE,) * 30, counters=(("x.y", HOSTILE, 1),) * 30,
                        status=HOSTILE, state="reported"),
}


def all_messages() -> Iterator[tuple[str, Message]]:
    yield "help", help_message()
    for problem in ("", "Give me an MMS ID or an OCLC number.", HUGE, HOSTILE):
        yield f"usage {problem[:10]!r}", usage_message(problem or "Nothing to do.")
        yield f"error {problem[:10]!r}", error_message(problem or "Something went wrong.")
    for name, match in MATCHES.items():
        yield f"match {name}", match_message(match)
        yield f"match {name} no PM", match_message(match, can_send_to_pm=False)
        yield f"match {name} with Method 2 buttons", match_message(match, can_link=True)
    counts = {"linked": 3, "unique": 1100, "multi": 30, "none": 100, "no_oclc": 17}
    examples = {"unique": ["991", "992"], "multi": [f"99{n}" for n in range(12)]}
    yield "preview", preview_message(SET, counts, examples, 57)
    yield "preview empty", preview_message(replace(SET, number_of_members=0, name=""), {}, {}, 0)
    yield "preview odd", preview_message(SET, {"surprise": 4}, {"surprise": [HOSTILE]}, 1)
    yield "preview huge", preview_message(replace(SET, name=HUGE), counts, {"multi": [HUGE] * 40}, 10**6)
    for name, job in JOBS.items():
        yield f"link_job {name}", link_job_message(job)
        yield f"report {name}", job_report_message(job_report(job))
    yield "jobs empty", jobs_message([])
    yield "jobs some", jobs_message(list(JOBS.values()))
    yield "jobs many", jobs_message([replace(FINISHED, id=n, set_name=HUGE) for n in range(60)])


MESSAGES = list(all_messages())


@pytest.mark.parametrize("name,message", MESSAGES, ids=[name for name, _ in MESSAGES])
def test_every_message_is_valid_block_kit_within_limits(name: str, message: Message) -> None:
    check_slack_rules(message)


def test_the_message_class_is_what_chat_post_message_takes() -> None:
    message = help_message()
    with pytest.raises(Exception):
        message.text = "changed"  # frozen
    assert set(message.as_kwargs()) == {"text", "blocks"}


# --- hostile text --------------------------------------------------------------------------


def test_filters_escape_and_defuse() -> None:
    assert mrkdwn(HOSTILE) == "&lt;!channel&gt; &amp; &lt;http://evil|click&gt; @\u200bhere"
    assert "@\u200bEveryone" in mrkdwn("hi @Everyone") and "@\u200bchannel" in mrkdwn("@channel")
    assert mrkdwn(None) == ""
    assert truncate_to(mrkdwn("a" * 10 + "&" * 10), 14) == "a" * 10 + "\u2026"  # no "&am…"
    assert truncate_to(mrkdwn("a" * 10 + "&" * 10), 16) == "a" * 10 + "&amp;\u2026"
    assert truncate_to("abc", 3) == "abc" and truncate_to("abcd", 3) == "ab\u2026"
    assert mention("U024BE7LH") == "<@U024BE7LH>"
    assert mention("alma") == "Alma (started in Alma)"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert progress_bar(60) == "\u2593" * 6 + "\u2591" * 4 + " 60%"
    assert progress_bar(250).endswith(" 100%") and progress_bar(None).endswith(" 0%")
    assert duration(125) == "2 min 5 s" and duration(7) == "7 s" and duration(3720) == "1 h 2 min"
    assert duration(None) == "unknown"


@pytest.mark.parametrize(
    "message",
    [
        usage_message(HOSTILE),
        error_message(HOSTILE),
        match_message(MATCHES["hostile"]),
        preview_message(replace(SET, name=HOSTILE), {"multi": 1}, {"multi": [HOSTILE]}, 1),
        link_job_message(JOBS["hostile"]),
        link_job_message(replace(JOBS["hostile"], state="queued")),
        link_job_message(replace(JOBS["hostile"], state="refused")),
        job_report_message(job_report(JOBS["hostile"])),
        jobs_message([JOBS["hostile"], replace(JOBS["hostile"], state="refused")]),
    ],
    ids=["usage", "error", "match", "preview", "link_job", "queued", "refused", "report", "jobs"],
)
def test_hostile_text_is_escaped(message: Message) -> None:
    check_hostile_escaped(message)


def test_hostile_fallback_text_is_escaped_too() -> None:
    for message in (error_message(HOSTILE), match_message(MATCHES["hostile"]),
                    link_job_message(JOBS["hostile"])):
        assert "<!channel>" not in message.text and "&lt;" in message.text


# --- /nz help, usage, errors -------------------------------------------------------------


def test_help_names_every_subcommand() -> None:
    text = all_text(help_message())
    for command in ("/nz match", "/nz preview", "/nz link", "/nz jobs", "/nz help"):
        assert command in text


def test_usage_says_what_was_wrong_and_how() -> None:
    message = usage_message("I need a set ID.")
    assert "I need a set ID." in message.text
    assert "/nz preview &lt;set ID or name&gt;" in all_text(message)


def test_error_in_catalogers_words() -> None:
    message = error_message("Alma doesn't know set 123.")
    assert message.text == "Alma doesn't know set 123."
    assert "Alma doesn't know set 123." in all_text(message)


# --- /nz match --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,words",
    [
        ("unique", "Will link"),
        ("multi", "Multi-match"),
        ("linked", "Already linked"),
        ("none", "No NZ match"),
        ("no_oclc", "No usable OCLC number"),
    ],
)
def test_match_says_the_verdict(name: str, words: str) -> None:
    message = match_message(MATCHES[name])
    assert words in message.text
    assert words in all_text(message)
    assert "9949620601852" in all_text(message)


def test_match_shows_every_candidate_card() -> None:
    match = multi(card("99160483400001451"), card("99170000000001451", holding_institutions=("A", "B", "C")))
    text = all_text(match_message(match))
    for expected in ("99160483400001451", "99170000000001451", "The Jungle", "New York : Doubleday, 1906",
                     "413 p.", "text / unmediated / volume", "eng", "Book (am)", "Full (blank)",
                     "52467191", "3 member institutions", "2 member institutions"):
        assert expected in text, expected
    assert "2 NZ records" in text


def test_linked_record_names_its_nz_record() -> None:
    assert "99160483400001451" in all_text(match_message(MATCHES["linked"]))


def test_asking_about_an_oclc_number() -> None:
    message = match_message(MATCHES["ocn_asked"])
    assert "OCLC number 52467191" in message.text
    assert not buttons(message), "no IZ record, nothing to send"
    unreadable = all_text(match_message(MATCHES["ocn_unreadable"]))
    assert "couldn't read an OCLC number" in unreadable


def test_only_differing_fields_are_highlighted() -> None:
    match = multi(card("99160483400001451"), card("99170000000001451", edition="2nd ed.", extent="900 p."))
    assert match.candidate_differences == {"edition", "extent"}
    message = match_message(match)
    cards = [b for b in message.blocks if b["type"] == "section" and "Candidate" in b["text"]["text"]]
    assert len(cards) == 2
    for block in cards:
        marked = {line.split(": ", 1)[0] for line in block["text"]["text"].split("\n") if f": {DIFFERS_MARK}*" in line}
        assert marked == {"Edition (250)", "Extent (300)"}  # titles are the same: not marked
    assert f"Edition (250): {DIFFERS_MARK}*2nd ed.*" in cards[1]["text"]["text"]
    assert any(DIFFERS_MARK in b["elements"][0]["text"] for b in message.blocks if b["type"] == "context")


def test_nothing_highlighted_when_candidates_agree() -> None:
    message = match_message(multi(card("99160483400001451"), card("99170000000001451")))
    assert DIFFERS_MARK not in all_text(message)
    assert DIFFERS_MARK not in all_text(match_message(MATCHES["unique"]))


def test_differing_title_is_marked() -> None:
    match = multi(card("99160483400001451"), card("99170000000001451", title="The Jungle : a novel of Chicago"))
    assert "title" in match.candidate_differences
    cards = [b for b in match_message(match).blocks if b["type"] == "section" and "Candidate" in b["text"]["text"]]
    assert all(DIFFERS_MARK in b["text"]["text"] for b in cards)


@pytest.mark.parametrize("name", ["multi", "multi_40", "hostile", "huge_title"])
def test_send_to_pm_on_multi(name: str) -> None:
    match = MATCHES[name]
    [button] = buttons(match_message(match))
    assert button["action_id"] == action_ids.SEND_TO_PM == "nz_send_to_pm"
    assert button["value"] == match.iz.mms_id
    assert "Program Manager" in button["text"]["text"]
    assert not buttons(match_message(match, can_send_to_pm=False))


@pytest.mark.parametrize("name", ["unique", "linked", "none", "no_oclc", "empty_card"])
def test_no_send_to_pm_unless_multi(name: str) -> None:
    assert not buttons(match_message(MATCHES[name]))


def test_forty_candidates_show_the_first_and_count_the_rest() -> None:
    message = match_message(MATCHES["multi_40"])
    text = all_text(message)
    assert len(message.blocks) <= 50
    for shown in FORTY[:MAX_CANDIDATES_SHOWN]:
        assert shown.mms_id in text
    for hidden in FORTY[MAX_CANDIDATES_SHOWN:]:
        assert hidden.mms_id not in text
    assert f"{40 - MAX_CANDIDATES_SHOWN} more candidates" in text
    assert "40 NZ records" in text


def test_huge_title_is_cut_with_an_ellipsis() -> None:
    message = match_message(MATCHES["huge_title"])
    iz_block = message.blocks[1]
    assert "IZ record" in iz_block["text"]["text"]
    assert "\u2026" in iz_block["text"]["text"]
    assert len(iz_block["text"]["text"]) <= 3000


# --- /nz preview ------------------------------------------------------------------------------


def test_preview_counts_and_examples() -> None:
    counts = {"linked": 3, "unique": 1100, "multi": 30, "none": 100, "no_oclc": 17}
    examples = {"unique": ["9911", "9922"], "multi": ["9933"], "none": [f"99{n}77" for n in range(9)]}
    message = preview_message(SET, counts, examples, 57)
    text = all_text(message)
    assert "Unlinked print books" in text and "1234567890000561" in text and "1,250" in text
    for label, count in (("Will link", "1,100"), ("Multi-match", "30"), ("No NZ match", "100"),
                         ("No usable OCLC number", "17"), ("Already linked", "3")):
        assert label in text
        assert any(f["text"].startswith(f"*{label}") and f["text"].endswith("\n" + count)
                   for b in message.blocks for f in b.get("fields", [])), label
    assert "9911" in text and "9922" in text and "9933" in text
    assert "99077" in text and "99877" not in text and "4 more" in text
    assert "57 Alma API calls" in text
    assert "Will link 1,100 · Multi-match 30" in message.text


def test_preview_of_part_of_a_set_says_so() -> None:
    text = all_text(preview_message(SET, {"unique": 10}, {}, 3))
    assert "Checked 10 of them" in text


# --- the link job's start message ------------------------------------------------------------


def test_queued_says_why_it_waits() -> None:
    text = all_text(link_job_message(JOBS["queued"]))
    assert "Waiting to start" in text and "already running 3 jobs" in text
    assert "<@U024BE7LH>" in text
    assert "Unlinked print books" in text and "1234567890000561" in text and "1,250" in text
    assert "Contribute IZ records" in text and "Off" in text


def test_starting_says_so_in_words() -> None:
    """A job caught between asking Alma and its answer: its state's words, never the bare
    "starting" the database holds."""
    message = link_job_message(JOBS["starting"])
    assert ":hourglass_flowing_sand: *Starting in Alma*" in all_text(message)
    assert "starting in Alma" in message.text
    listed = all_text(jobs_message([JOBS["starting"]]))
    assert "*Starting in Alma*" in listed and "*starting*" not in listed


def test_every_job_state_is_worded() -> None:
    from nzbot.states import JobState

    for state in JobState:
        message = link_job_message(replace(JOBS["queued"], state=state, note=None, status="COMPLETED_SUCCESS"))
        words = state.words[:1].upper() + state.words[1:]
        assert f"*{words}" in all_text(message) and state.words in message.text, state
        assert f"*{state.value}*" not in all_text(message)


def test_running_shows_progress() -> None:
    message = link_job_message(JOBS["running"])
    text = all_text(message)
    assert "\u2593" * 6 + "\u2591" * 4 + " 60%" in text
    assert "60%" in message.text
    assert "Running" in text and "8812345" in text


def test_done_shows_status() -> None:
    for state in ("finished", "reporting", "reported"):
        text = all_text(link_job_message(JOBS[state]))
        assert "Done: completed with warnings" in text and ":warning:" in text
    assert ":x:" in all_text(link_job_message(JOBS["failed"]))


def test_refused_says_why() -> None:
    text = all_text(link_job_message(JOBS["refused"]))
    assert "refused" in text and "402223" in text


def test_started_in_alma() -> None:
    text = all_text(link_job_message(JOBS["from_alma"]))
    assert "Alma (started in Alma)" in text and "<@" not in text


def test_contribute_and_prefix_shown() -> None:
    text = all_text(link_job_message(JOBS["contribute_prefix"]))
    assert "On: records with no NZ match become new NZ records" in text
    assert "(AT-OBV)" in text


# --- the job report --------------------------------------------------------------------------


def test_report_counts_alerts_and_duration() -> None:
    report = job_report(FINISHED)
    message = job_report_message(report)
    text = all_text(message)
    fields = [f["text"] for b in message.blocks for f in b.get("fields", [])]
    assert "*Linked*\n1,100" in fields
    assert "*Skipped (no match)*\n120" in fields
    assert "*Multi-matches*\n30" in fields
    assert "*Imported as new NZ records*\n0" in fields
    assert "Records with unresolved holdings: 7" in text  # Alma's own label
    assert "Some records could not be processed" in text
    assert "2 min 5 s" in text
    assert ":warning:" in text and "Completed with warnings" in text
    assert "Unlinked print books" in text and "1234567890000561" in text
    assert "30 records matched several NZ records" in text
    assert "Linked 1,100 · Skipped (no match) 120 · Multi-matches 30" in message.text


def test_report_emoji_by_outcome() -> None:
    ok = all_text(job_report_message(job_report(replace(FINISHED, status="COMPLETED_SUCCESS"))))
    assert ":white_check_mark:" in ok and "Completed" in ok
    failed = all_text(job_report_message(job_report(replace(FINISHED, status="FAILED"))))
    assert ":x:" in failed and "Failed" in failed


def test_report_without_multi_matches_or_alerts() -> None:
    job = replace(FINISHED, counters=(("link_bib_to_nz.linked", "Linked", 5),), alerts=(), finished_at=None)
    text = all_text(job_report_message(job_report(job)))
    assert "matched several NZ records" not in text
    assert "Alerts" not in text and "Other counts" not in text
    assert "Took unknown" in text


def test_report_lists_many_alerts_briefly() -> None:
    text = all_text(job_report_message(job_report(JOBS["hostile"])))
    assert "…and 10 more alerts" in text and "…and 10 more" in text


# --- /nz jobs ----------------------------------------------------------------------------------


def test_no_jobs_yet() -> None:
    message = jobs_message([])
    assert message.text == "No link jobs yet."
    assert "No link jobs yet." in all_text(message)


def test_jobs_newest_first_with_state() -> None:
    old = link_job(id=1, set_name="Old set", state="reported", status="COMPLETED_SUCCESS",
                   created_at="2024-05-01T10:00:00+00:00")
    new = link_job(id=2, set_name="New set", state="running", progress=40,
                   created_at="2024-05-02T10:00:00+00:00")
    message = jobs_message([old, new])
    text = all_text(message)
    assert text.index("New set") < text.index("Old set")
    assert "40%" in text and "Done: completed" in text
    assert "<@U024BE7LH>" in text
    assert "<!date^" in text
    assert message.text == "2 link jobs (1 running)"


def test_many_jobs_stay_within_blocks() -> None:
    message = jobs_message([replace(FINISHED, id=n) for n in range(60)])
    assert len(message.blocks) <= 50
    assert "older jobs not shown" in all_text(message)


def test_every_verdict_has_its_words_and_emoji_in_one_place():
    from alma.matching import Verdict
    from bot.wording import VERDICT_EMOJI
    from nzbot.text import VERDICTS

    assert set(VERDICTS) == set(Verdict) == set(VERDICT_EMOJI)
    for words in VERDICTS.values():
        assert words.label and words.note and words.meaning and words.explanation
