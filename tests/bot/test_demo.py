"""`nzbot demo`: the real bot played through against the Alma simulator and the Slack
stand-in, printed as it happens and written as an HTML transcript; and the rendering of
Slack messages to text and to safe HTML."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import threading
import time
from html.parser import HTMLParser

import pytest

import bot.demo as demo
from alma.simulator import seed
from bot.demo.local_slack import Call
from bot.cli import main
from bot.demo.blocks import block_views, message_lines, mrkdwn_html, mrkdwn_plain
from bot.demo.transcript import Transcript


class Page(HTMLParser):
    """What a browser would make of the transcript: text, buttons, nesting, scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.buttons: list[dict] = []
        self.tags: list[str] = []
        self.stack: list[tuple[str, dict]] = []
        self.in_button: dict | None = None
        self.hrefs: list[str] = []
        self.thread_texts: list[str] = []  # text inside thread (reply) containers

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag not in ("br", "hr", "meta", "img", "input"):
            self.stack.append((tag, attrs))
        if tag == "button":
            self.in_button = {"attrs": attrs, "label": ""}
            self.buttons.append(self.in_button)
        if tag == "a":
            self.hrefs.append(attrs.get("href", ""))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if tag == "button":
            self.in_button = None

    def handle_data(self, data):
        self.text.append(data)
        if self.in_button is not None:
            self.in_button["label"] += data
        if any("thread" == (a.get("class") or "") for _, a in self.stack):
            self.thread_texts.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


# ------------------------------------------------------------------ the whole demo


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "t.html"
    stdout, stderr = io.StringIO(), io.StringIO()
    began = time.monotonic()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["demo", "--out", str(out)])
    return {"code": code, "seconds": time.monotonic() - began, "out": out,
            "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


def test_the_demo_succeeds_within_a_minute(played):
    assert played["code"] == 0, played["stderr"]
    assert played["seconds"] < 60
    assert "took" in played["stdout"] and str(played["out"].resolve()) in played["stdout"]


def test_the_printed_conversation_has_every_step_in_order(played):
    text = played["stdout"]
    commands = [
        "cataloger (in #nz-report): /nz help",
        f"cataloger (in #nz-report): /nz match {seed.CASES['unique']}",
        f"cataloger (in #nz-report): /nz match {seed.CASES['multi_three']}",
        f"cataloger (in #nz-report): /nz preview {seed.SETS['unlinked']}",
        f"cataloger (in #nz-report): /nz link {seed.SETS['unlinked']}",
        "Program Manager clicked [Link to this record]",
    ]
    positions = [text.find(c) for c in commands]
    assert all(p >= 0 for p in positions), [c for c, p in zip(commands, positions) if p < 0]
    assert positions == sorted(positions)
    # what nzbot said to each
    after = dict(zip(commands, positions))
    help_part = text[after[commands[0]]:after[commands[1]]]
    assert "nzbot (ephemeral, only cataloger sees it" in help_part and "/nz preview <set ID or name>" in help_part
    unique_part = text[after[commands[1]]:after[commands[2]]]
    assert seed.NZ_RECORDS["unique"] in unique_part and "Will link" in unique_part
    multi_part = text[after[commands[2]]:after[commands[3]]]
    for suffix in "abc":
        assert seed.NZ_RECORDS[f"multi_three_{suffix}"] in multi_part
    assert "[Send to the Program Manager]" in multi_part
    preview_part = text[after[commands[3]]:after[commands[4]]]
    assert "Will link (one NZ match): 11" in preview_part and "Multi-match" in preview_part
    link_part = text[after[commands[4]]:after[commands[5]]]
    assert "nzbot in #nz-report:" in link_part
    assert "nzbot edited its message in #nz-report" in link_part and "Running in Alma" in link_part
    assert "in the thread of its" in link_part and "Link job report" in link_part
    assert "Linked: 11" in link_part and "Skipped (no match): 12" in link_part and "Multi-matches: 6" in link_part
    assert "nzbot \u2192 Program Manager (DM):" in link_part + text[after[commands[5]]:]
    decided = text[after[commands[5]]:]
    chosen = seed.NZ_RECORDS["multi_three_b"]
    assert f'Slack asked first: "Link IZ record {seed.CASES["multi_three"]} to NZ record {chosen}?' in decided
    # was: the case's own message edited to "verified in Alma"; the PM's queue message
    # moves on to the next case, and the job's thread tells how the case ended
    assert "Program Manager clicked [Review cases]" in text[:after[commands[5]]]
    assert "linked and verified" in decided and "@Program Manager chose" in decided


def test_the_demo_plays_the_token_route_with_the_token_put_on_and_taken_off(played):
    text = played["stdout"]
    chosen, iz = seed.NZ_RECORDS["multi_a"], seed.CASES["multi"]  # the suggested full record
    start = text.index("accepts the suggested pick, which no 035 singles out: the token route")
    assert "Program Manager clicked [Accept the suggestion: link to candidate 1]" in text[start:]
    story = " ".join(text[start:].split())  # the printout wraps long lines
    put_on = story.index(f"NZ record {chosen} now carries 035 $a (NZBOT)c")
    taken_off = story.index("has been taken off again (checked)")
    assert put_on < taken_off
    assert "Match method: 035 other system number, prefix (NZBOT)" in story
    assert f"IZ record {iz} is linked to NZ record {chosen}, and NZ record {chosen} no longer carries (NZBOT)c" in story
    page = parse(played["out"].read_text(encoding="utf-8")).all_text
    # the PM's queue message moved on to the next case after the pick (was: the case's own
    # message, edited to say the token came off): the page shows the token route's pick
    assert "(NZBOT)" in page and chosen in page
    # what the demo saw in Alma is in the HTML too, in order: the token on, then off
    seen_on = page.index(f"NZ record {chosen} now carries 035 $a (NZBOT)c")
    assert seen_on < page.index("has been taken off again (checked)") \
        < page.index(f"NZ record {chosen} no longer carries (NZBOT)c")


def test_the_transcript_is_html_a_person_can_read(played):
    raw = played["out"].read_text(encoding="utf-8")
    page = parse(raw)
    text = page.all_text
    assert "<script" not in raw.lower()
    assert page.tags.count("html") == 1 and "style" in page.tags
    # Slack's escaped text shown once-escaped: no double escaping, no raw angle brackets
    assert "/nz match <IZ MMS ID or OCLC number>" in text
    assert "&amp;lt;" not in raw and "<IZ MMS" not in raw
    assert "Record Actions > Share with Network" in text and "Record Actions &gt; Share with Network" in raw
    # every step's content
    assert f"/nz link {seed.SETS['unlinked']}" in text
    for name in ("unique", "multi_three_a", "multi_three_b", "multi_three_c"):
        assert seed.NZ_RECORDS[name] in text
    assert "Link job report" in text and "Only visible to cataloger" in text
    # buttons, shown disabled
    labels = [b["label"].strip() for b in page.buttons]
    assert "Send to the Program Manager" in labels and "Link to this record" in labels
    assert all("disabled" in b["attrs"] for b in page.buttons)
    # the outcome, edited messages in their final form, replies in threads
    chosen = seed.NZ_RECORDS["multi_three_b"]
    # was: "verified in Alma" in the case message; now the queue message showing the next case,
    # and the thread
    assert "cases still to decide from set Unlinked sample records" in text and "linked and verified" in text
    assert "(edited)" in text and "Done: completed with warnings" in text
    thread = " ".join(page.thread_texts)
    assert "Link job report" in thread and "linked and verified" in thread
    assert "<b>" in raw and "<code>" in raw and 'class="mention"' in raw


def test_the_transcript_shows_the_suggestions_and_each_case_as_it_stood_when_decided(played):
    page = parse(played["out"].read_text(encoding="utf-8")).all_text
    # three kinds of suggestion, and a case without one, as the Program Manager saw them
    assert "Suggested: candidate 1. Candidate 2's encoding level is Minimal (Leader/17), candidate 1's Full" in page
    assert "No suggestion: candidates 1, 2 and 3 look like true duplicates" in page
    assert "Suggested: candidate 2. OCLC merged candidate 1's number 63333333 into candidate 2's" in page
    for rule in ("by OCLC's surviving record", "by same language of cataloging", "by same kind of resource"):
        assert rule in page
    # each click keeps the message as it stood: the decided cases do not vanish from the page
    assert page.count("the message as it stood when clicked") >= 4
    assert "Same in all 3 candidates" in page and "Other system numbers (035)" in page  # what sets candidate 2 apart
    text = played["stdout"]
    assert "Program Manager clicked [Accept all 3 suggestions]" in text
    assert "Link each of 3 cases from set Unlinked sample records to its suggested NZ record" in text
    for iz, nz in (("multi_via_z", "multi_via_z_b"), ("multi_language", "multi_language_eng"),
                   ("multi_ebook", "multi_ebook_print")):
        assert f"IZ record {seed.CASES[iz]} is linked to NZ record {seed.NZ_RECORDS[nz]}" in text


# ------------------------------------------------------------------ failing and cleaning up


def test_a_step_that_does_not_happen_stops_the_demo_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "JOB_SECONDS", 60.0)  # the link job would take a minute ...
    monkeypatch.setattr(demo, "JOB_TIMEOUT", 2.0)  # ... and the demo waits 2 s for it
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    out = tmp_path / "partial.html"
    stdout, stderr = io.StringIO(), io.StringIO()
    began = time.monotonic()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["demo", "--out", str(out)])
    assert code == 1
    assert time.monotonic() - began < 30
    message = stderr.getvalue()
    assert "nzbot demo: step 5 (run the link job on the set)" in message
    assert "the link job's report in #nz-report did not happen within 2 s" in message
    assert str(out) in message and "stopped: step 5" in parse(out.read_text(encoding="utf-8")).all_text
    assert list(temp.iterdir()) == []  # the temporary database is gone
    time.sleep(0.3)
    alive = [t.name for t in threading.enumerate() if t.name.startswith(("nzbot-http", "slack-stub"))]
    assert alive == []


# ------------------------------------------------------------------ rendering


def test_mrkdwn_becomes_safe_html():
    shown = str(mrkdwn_html(
        "*Title* &lt;script&gt;alert(1)&lt;/script&gt; &amp; _more_ `99&amp;1` "
        "<@UPM|pm> <#CREP> <https://example.org/a?b=1&amp;c=2|A &amp; B> <javascript:alert(1)|click> "
        "<!date^1700000000^{date}|Nov 14> :white_check_mark: :unknown_emoji: \"quoted\"",
        {"UPM": "Program Manager", "CREP": "nz-report"}))
    assert "<script" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in shown
    assert "<b>Title</b>" in shown and "<i>more</i>" in shown and "<code>99&amp;1</code>" in shown
    assert '<span class="mention">@Program Manager</span>' in shown and "#nz-report" in shown
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">A &amp; B</a>' in shown
    assert 'href="javascript' not in shown and "click" in shown
    assert "Nov 14" in shown and "\u2705" in shown and ":unknown_emoji:" in shown
    assert "&quot;quoted&quot;" in shown
    # a raw "<" that is not a control sequence cannot open a tag either
    assert "<img" not in str(mrkdwn_html("<img src=x onerror=alert(1)>"))


def test_mrkdwn_becomes_plain_text():
    assert mrkdwn_plain("*Set:* Birds &amp; bees (ID `7100`) <@U1> <https://x.org|docs> &lt;b&gt;",
                        {"U1": "cataloger"}) == "Set: Birds & bees (ID 7100) @cataloger docs (https://x.org) <b>"


def test_blocks_read_as_lines_with_fields_context_and_buttons():
    message = {"text": "fallback", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Link job report"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Linked*"},
         "fields": [{"type": "mrkdwn", "text": "*Linked*\n11"}, {"type": "mrkdwn", "text": "*Failed*\n0"}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Took 1 s"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Skip"}},
                                         {"type": "button", "text": {"type": "plain_text", "text": "Re-check"}}]},
    ]}
    lines = message_lines(message)
    assert lines[0] == "== Link job report ==" and "Linked: 11 \u00b7 Failed: 0" in lines
    assert "  Took 1 s" in lines and "[Skip] [Re-check]" in lines and "fallback" not in lines
    views = block_views(message)
    assert [v["type"] for v in views] == ["header", "section", "divider", "context", "actions"]
    assert [e["label"] for e in views[-1]["elements"]] == ["Skip", "Re-check"]


def _call(method, args, response=None, name=None):
    call = Call(method=method, args=args, headers={}, at=time.monotonic(), name=name,
                response=response if response is not None else {"ok": True})
    return call


def test_the_transcript_follows_posts_edits_threads_and_responses():
    out = io.StringIO()
    t = Transcript(out, {"UCAT": "cataloger", "CREP": "nz-report"})
    t.command("UCAT", "CREP", "/nz link 7100", "r1")
    hostile = "Birds &amp; bees &lt;script&gt;alert(1)&lt;/script&gt;"
    calls = [
        _call("chat.postMessage", {"channel": "CREP", "text": "Waiting", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Waiting* {hostile}"}}]},
            {"ok": True, "channel": "CREP", "ts": "1.1"}),
        _call("chat.update", {"channel": "CREP", "ts": "1.1", "text": "Done", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Done* {hostile}"}}]},
            {"ok": True, "channel": "CREP", "ts": "1.1"}),
        _call("chat.postMessage", {"channel": "CREP", "thread_ts": "1.1", "text": "The report: 11 linked"},
              {"ok": True, "channel": "CREP", "ts": "1.2"}),
        _call("response_url", {"response_type": "ephemeral", "text": "Started"}, name="r1"),
        _call("auth.test", {}),
    ]
    t.follow(calls[:2])
    t.follow(calls)  # only the new ones are taken
    printed = out.getvalue()
    assert printed.count("nzbot in #nz-report:") == 1
    assert "nzbot edited its message in #nz-report" in printed and "Done Birds & bees <script>" in printed
    assert "in the thread of its" in printed and "The report: 11 linked" in printed
    assert "nzbot (ephemeral, only cataloger sees it" in printed and "auth.test" not in printed
    raw = t.html(title="T & <t>", facts=[("Outcome", "<ok>")])
    page = parse(raw)
    assert "<script" not in raw and "<t>" not in raw and "&lt;ok&gt;" in raw
    assert "Done Birds & bees <script>alert(1)</script>" in page.all_text
    assert "Waiting Birds" not in page.all_text  # the edited message in its final form only
    assert "(edited)" in page.all_text
    assert "The report: 11 linked" in " ".join(page.thread_texts)


def test_the_demo_plays_a_catalogers_own_link_from_nz_match(played):
    """Method 2 from Slack: the cataloger's press, its confirm naming what linking drops, the
    link job run, and the answer replaced once the record is read back."""
    text = played["stdout"]
    story = " ".join(text[text.index("the guidance's Method 2"):].split())
    assert "cataloger clicked [Link to this record]" in story
    assert "will be lost: 590, 949." in story and "cataloger chose [Link it]" in story
    assert "Match method: 035 other system number, prefix (OrU)" in story
    assert "verified in Alma" in story and "the cataloger's own pick" in story


def test_the_demo_makes_a_schedule_and_lists_it(played):
    text = played["stdout"]
    made = text.find(f"cataloger (in #nz-report): /nz schedule {seed.SETS['unlinked']} weekly mon 02:00")
    listed = text.find("cataloger (in #nz-report): /nz schedules")
    assert 0 <= made < listed
    assert "Scheduled: schedule 1, weekly mon 02:00" in text[made:listed]
    assert "Schedule 1 · weekly mon 02:00" in text[listed:] and "Next run: Mon" in text[listed:]


def test_every_emoji_the_messages_use_is_drawn_in_the_transcript():
    """Issue 23: the transcript showed `:classical_building:` as text. Every :name: in the
    templates and in bot/wording.py has its character."""
    import re
    from pathlib import Path

    import bot.wording
    import templates
    from bot.demo.blocks import EMOJI, mrkdwn_html

    folder = Path(templates.__file__).parent
    used = {name for path in folder.glob("*.j2") for name in re.findall(r":([a-z0-9_+-]+):", path.read_text())}
    used |= set(re.findall(r"\":([a-z0-9_+-]+):\"", Path(bot.wording.__file__).read_text()))
    assert "classical_building" in used
    assert sorted(used - set(EMOJI)) == []
    shown = str(mrkdwn_html(":classical_building: *University of Oregon*"))
    assert ":classical_building:" not in shown.replace('title=":classical_building:"', "")
    assert EMOJI["classical_building"] in shown


def test_the_transcript_shows_emoji_and_says_a_click_once(played):
    text = parse(played["out"].read_text(encoding="utf-8")).all_text
    assert not re.findall(r"(?<![\w/]):[a-z_]+:(?!/)", text)  # every shortcode drawn as its emoji
    assert "clicked Review cases on the queue message" in text
    for label in ("Review cases", "Skip for now"):
        assert f"clicked {label} {label}" not in text and f"[{label}] {label}" not in played["stdout"]
