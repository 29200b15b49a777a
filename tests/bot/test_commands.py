"""/nz over HTTP, as Slack sends it: each subcommand, bad input, signatures, slow Alma,
and retried requests."""

from __future__ import annotations

import time

import requests

from alma.simulator import seed
from tests.bot.conftest import CATALOGER, REPORT, SECRET, block_text, command_calls
from bot.demo.slack_requests import post_signed, slash_command_body


def test_help_is_answered_in_the_ack(harness):
    harness.start()
    answer, _ = harness.command("help")
    assert answer.status_code == 200
    text = block_text(answer.json())
    assert "/nz match" in text and "/nz link" in text and "/nz preview" in text
    assert answer.json()["response_type"] == "ephemeral"


def test_an_empty_command_shows_help(harness):
    harness.start()
    answer, _ = harness.command("")
    assert "/nz jobs" in block_text(answer.json())


def test_an_unknown_subcommand_gets_usage_and_changes_nothing(harness):
    harness.start()
    answer, _ = harness.command("frobnicate 123")
    text = block_text(answer.json())
    assert "frobnicate" in text and "/nz match" in text
    assert command_calls(harness.sim) == 0
    assert harness.store.link_jobs() == []


def test_match_answers_after_the_ack_with_the_candidates(harness):
    harness.start()
    answer, name = harness.command(f"match {seed.CASES['multi']}")
    assert answer.status_code == 200 and "Looking up" in block_text(answer.json())
    response = harness.response(name)
    text = block_text(response.args)
    assert seed.NZ_RECORDS["multi_a"] in text and seed.NZ_RECORDS["multi_b"] in text
    assert "Birds of the Pacific Northwest" in text
    assert response.args["response_type"] == "ephemeral"


def test_match_of_a_missing_record_says_so(harness):
    harness.start()
    _, name = harness.command("match 9912345678906391")
    assert "no bib record" in block_text(harness.response(name).args)


def test_match_with_bad_arguments_is_refused_without_calling_alma(harness):
    harness.start()
    for text in ("match", "match 1 2", "match banana"):
        answer, name = harness.command(text)
        assert answer.status_code == 200
        if text == "match banana":
            assert "neither an MMS ID" in block_text(harness.response(name).args)
        else:
            assert "needs one IZ MMS ID" in block_text(answer.json())
    assert command_calls(harness.sim) == 0


def test_preview_counts_the_verdicts_of_a_set(harness):
    harness.start()
    _, name = harness.command(f"preview {seed.SETS['link_test']}")
    text = block_text(harness.response(name).args)
    assert "Link job test set" in text
    assert seed.CASES["multi"] in text  # shown as an example multi-match


def test_preview_of_an_item_set_is_refused(harness):
    harness.start()
    _, name = harness.command(f"preview {seed.SETS['items']}")
    assert "not bib records" in block_text(harness.response(name).args)


def test_jobs_when_there_are_none(harness):
    harness.start()
    answer, _ = harness.command("jobs")
    assert "No link jobs yet" in block_text(answer.json())


def test_jobs_says_how_many_older_jobs_it_does_not_show(harness):
    """Was: the store was asked for 10 jobs while the answer shows up to 20, so the 11th
    and older were never mentioned."""
    from bot.messages import MAX_JOBS_SHOWN
    from nzbot.store import Store

    harness.start()
    store = Store(str(harness.db_path))
    for n in range(MAX_JOBS_SHOWN + 5):
        store.add_link_job(set_id=str(n), set_name=f"Old set {n}", set_size=1, requested_by=CATALOGER,
                           channel=REPORT, state="reported", reconciled=1)
    answer, _ = harness.command("jobs")
    text = block_text(answer.json())
    assert f"*Old set {MAX_JOBS_SHOWN + 4}*" in text and "*Old set 5*" in text  # the newest 20
    assert "*Old set 4*" not in text and "and 5 older jobs not shown" in text
    assert text.startswith(f"{MAX_JOBS_SHOWN + 5} link jobs")


def test_unsigned_badly_signed_and_stale_requests_get_401_and_do_nothing(harness):
    harness.start()
    body = slash_command_body(f"link {seed.SETS['link_test']}",
                              response_url=harness.stub.response_url("x"))
    unsigned = requests.post(harness.server.url, data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    wrong = post_signed(harness.server.url, body, "not-the-secret")
    stale = post_signed(harness.server.url, body, SECRET, timestamp=int(time.time()) - 6 * 60)
    assert [unsigned.status_code, wrong.status_code, stale.status_code] == [401, 401, 401]
    time.sleep(0.5)
    assert harness.store.link_jobs() == []
    assert command_calls(harness.sim) == 0
    assert harness.stub.responses() == []


def test_every_command_is_acked_in_time_while_alma_is_slow(harness):
    harness.start()
    harness.sim.faults.latency = 4.0  # each Alma call takes 4 s
    started = time.monotonic()
    answer, name = harness.command(f"match {seed.CASES['unique']}")
    acked = time.monotonic() - started
    assert answer.status_code == 200 and acked < 3.0
    response = harness.response(name, timeout=30)
    assert seed.NZ_RECORDS["unique"] in block_text(response.args)
    assert response.at - started > 4.0  # the answer came later, through response_url


def test_a_retried_command_acts_once(harness):
    harness.start()
    trigger = "trigger-123.456"
    first, _ = harness.command(f"link {seed.SETS['link_test']}", trigger_id=trigger)
    again, _ = harness.command(f"link {seed.SETS['link_test']}", trigger_id=trigger, retry_num=1)
    assert first.status_code == 200 and again.status_code == 200
    harness.wait(lambda: harness.store.link_jobs(), what="the link job")
    time.sleep(1.0)
    assert len(harness.store.link_jobs()) == 1
    assert harness.sim.calls["POST /almaws/v1/conf/jobs/{job_id}"] == 1


def test_link_from_a_channel_that_is_not_allowed_is_refused(harness):
    harness.start()
    answer, _ = harness.command(f"link {seed.SETS['link_test']}", channel="COTHER001")
    assert "started only in" in block_text(answer.json())
    time.sleep(0.3)
    assert harness.store.link_jobs() == []
    assert command_calls(harness.sim) == 0


def test_link_by_a_user_not_allowed_is_refused(harness):
    harness.overrides["allowed_users"] = ("USOMEONE9",)
    harness.start()
    answer, _ = harness.command(f"link {seed.SETS['link_test']}", user=CATALOGER)
    assert "started only in" in block_text(answer.json())
    assert harness.store.link_jobs() == []


def test_link_of_an_unknown_or_empty_set_changes_nothing(harness):
    harness.start()
    for ref, words in ((seed.SETS["empty"], "empty"), ("No such set", "no set named"),
                       (seed.SETS["items"], "not bib records")):
        _, name = harness.command(f"link {ref}")
        assert words in block_text(harness.response(name).args)
    assert harness.store.link_jobs() == []
    assert harness.sim.calls["POST /almaws/v1/conf/jobs/{job_id}"] == 0
    assert harness.stub.messages(REPORT) == []


def test_a_long_preview_reports_its_progress_then_its_result(harness):
    big = harness.sim.state.make_set("Big set", [])
    members = [seed.CASES["unique"], seed.CASES["multi"], seed.CASES["no_match"]]
    for n in range(6000):  # set members Alma no longer has are skipped, but counted as read
        big.members[f"99{n:012d}06391"] = ""
    for mms_id in members:
        big.members[mms_id] = ""
    big.changed()
    harness.start()
    _, name = harness.command(f"preview {big.id}")
    harness.wait(lambda: any("Linked" in block_text(c.args) or "Will link" in block_text(c.args)
                             for c in harness.stub.responses(name)), timeout=60, what="the result")
    answers = [block_text(c.args) for c in harness.stub.responses(name)]
    progress = [a for a in answers if "records checked" in a]
    assert 1 <= len(progress) <= 3 and "of 6,003 records checked" in progress[0]
    assert len(answers) <= 5  # Slack's limit for one response_url
