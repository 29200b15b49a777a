"""/nz stats and the weekly digest over HTTP: the figures after a real link job match the
database, the Program Manager's view shows every member, bad WEEKS are refused, and the
digest is posted once per period across restarts (a new period posts again)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from alma.simulator import seed
from bot.digest import DIGEST_EVENT
from nzbot import digest
from nzbot.report import job_report
from tests.bot.conftest import CATALOGER, PM, REPORT, block_text
from tests.bot.test_consortium import (OSU_CATALOGER, OSU_CHANNEL, UO_CATALOGER, UO_CHANNEL, in_second,
                                       two)  # noqa: F401 (the fixture)

UO, OSU = "01SIM_UO", "01SIM_OSU"
LA = "America/Los_Angeles"
MONDAY_0759 = datetime(2024, 5, 6, 14, 59, tzinfo=timezone.utc)  # Monday 07:59 in Los Angeles


@dataclass
class Clock:
    """The bot's time, moved by the test (the digest's Monday comes when the test says)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def total_rows(text: str) -> list[list[int]]:
    """The numbers of each table's "Total" row, in order (link jobs, then cases)."""
    return [[int(n.replace(",", "")) for n in line.split()[1:]] for line in text.splitlines()
            if line.startswith("Total")]


def stats(harness, text: str = "stats", *, user: str = CATALOGER, channel: str = REPORT) -> str:
    answer, name = harness.command(text, user=user, channel=channel)
    assert answer.status_code == 200
    return block_text(harness.response(name).args)


def digests(harness, channel: str) -> list[dict]:
    return [m for m in harness.stub.messages(channel) if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT]


def test_stats_after_a_link_job_match_the_database(harness):
    harness.start()
    harness.command(f"link {seed.SETS['link_test']}")
    harness.wait(lambda: harness.store.link_jobs("reported") and harness.store.cases(), what="the report and cases")
    (job,) = harness.store.link_jobs()
    counts = job_report(job).counts
    assert counts["linked"] > 0
    cases = harness.store.cases()
    text = stats(harness)
    runs, case_totals = total_rows(text)
    assert runs == [1, counts["linked"], counts["imported"], counts["skipped"], counts["multi_matched"]]
    assert case_totals == [len(cases), 0, 0]  # opened, decided, as suggested
    assert f"{len(cases)} case" in text and "waiting for the Program Manager now" in text
    assert "Weeks" not in text and "UTC time" in text
    # the Program Manager decides one for its suggested pick: decided and as suggested count it
    case = cases[0]
    harness.bot.services.cases.decide(case.id, PM, "link", case.suggested_nz_mms_id or case.candidate_ids[0])
    decided = harness.store.case(case.id)
    followed = int(decided.chosen_nz_mms_id == decided.suggested_nz_mms_id)
    assert total_rows(stats(harness, "stats 2"))[1] == [len(cases), 1, followed]


def test_bad_weeks_are_refused_plainly_and_nothing_is_counted(harness):
    harness.start()
    for text, said in (("stats 0", "not 0"), ("stats 27", "1 to 26 weeks"), ("stats soon", "number of weeks"),
                       ("stats 4 weeks", "number of weeks")):
        answer, name = harness.command(text)
        ack = block_text(answer.json())
        assert said in ack and "How to use it" in ack, text
        assert "/nz stats [weeks]" in ack
        time.sleep(0.2)
        assert harness.stub.responses(name) == [], "refused: nothing answered after the ack"


def test_the_program_manager_sees_every_member_and_a_member_only_its_own(two):
    two.bot.services.members[UO].cases.send_to_pm(seed.CASES["multi_three"], UO_CATALOGER)
    two.bot.services.members[OSU].cases.send_to_pm(in_second(seed.CASES["multi_three"]), OSU_CATALOGER)
    two.bot.services.members[OSU].cases.send_to_pm(in_second(seed.CASES["multi"]), OSU_CATALOGER)
    everyone = stats(two, user=PM, channel="DPROGMGR1")
    rows = {line.split()[0]: line.split()[1:] for line in everyone.splitlines()
            if line.startswith((UO, OSU, "All members"))}
    assert {UO, OSU, "All"} <= set(rows)
    case_rows = [line.split() for line in everyone.splitlines() if line.startswith((UO, OSU))][2:]  # the cases table
    assert [(r[0], r[1], r[4]) for r in case_rows] == [(UO, "1", "1"), (OSU, "2", "2")]  # opened, waiting
    assert "3 cases are waiting" in everyone
    uo = stats(two, user=UO_CATALOGER, channel=UO_CHANNEL)
    assert OSU not in uo and total_rows(uo)[1] == [1, 0, 0]
    osu = stats(two, user=OSU_CATALOGER, channel=OSU_CHANNEL)
    assert total_rows(osu)[1] == [2, 0, 0]


def test_the_digest_is_posted_once_per_period_across_restarts(harness):
    clock = Clock(MONDAY_0759)
    harness.clock, harness.overrides = clock, {"timezone": LA, "digest": digest.parse("mon 08:00")}
    harness.start()
    harness.wait(lambda: harness.store.db.execute("SELECT since FROM digest_watch").fetchone(), what="a round")
    time.sleep(0.6)
    assert digests(harness, REPORT) == [], "a new bot posts no digest for a moment before its time"
    clock.now = MONDAY_0759 + timedelta(minutes=2)
    (posted,) = harness.wait(lambda: digests(harness, REPORT), what="the digest")
    text = block_text(posted)
    assert "Weekly digest, 2024-W19" in text and "8 Apr \u2013 5 May 2024" in text and "America/Los_Angeles" in text
    harness.restart()
    time.sleep(1.0)  # several rounds
    assert len(digests(harness, REPORT)) == 1
    # killed between Slack storing the post and nzbot recording it: found again, not repeated
    intent = f"digest:2024-W19:member:{REPORT}"
    assert harness.store.post_intent(intent).posted_ts == posted["ts"]
    harness.store.begin_post(intent)
    harness.restart()
    harness.wait(lambda: harness.store.post_intent(intent).posted_ts, what="the post found again")
    assert len(digests(harness, REPORT)) == 1 and harness.store.post_intent(intent).posted_ts == posted["ts"]
    # next Monday: a new period, posted
    clock.now += timedelta(weeks=1)
    harness.wait(lambda: len(digests(harness, REPORT)) == 2, what="next week's digest")
    assert "Weekly digest, 2024-W20" in block_text(digests(harness, REPORT)[1])


def test_no_digest_when_it_is_off(harness):
    clock = Clock(MONDAY_0759)
    harness.clock, harness.overrides = clock, {"digest": None}
    harness.start()
    time.sleep(0.4)
    clock.now += timedelta(weeks=1)
    time.sleep(0.8)
    assert digests(harness, REPORT) == []


def test_the_consortiums_digest_goes_to_the_program_manager_and_each_members_to_its_channel(two):
    two.bot.services.members[OSU].cases.send_to_pm(in_second(seed.CASES["multi_three"]), OSU_CATALOGER)
    period = digest.due(digest.parse("mon 08:00"), datetime.now(timezone.utc),
                        datetime(2000, 1, 1, tzinfo=timezone.utc), two.bot.services.settings.zone)
    two.bot.scheduler.digest.post(period)  # what the round does when the period is due
    pm_channel = two.store.dm_channel(PM)
    (pm,) = digests(two, pm_channel)
    assert UO in block_text(pm) and OSU in block_text(pm) and "All members" in block_text(pm)
    (uo,) = digests(two, UO_CHANNEL)
    (osu,) = digests(two, OSU_CHANNEL)
    assert OSU not in block_text(uo) and "Oregon State University" in block_text(osu)
    two.bot.scheduler.digest.post(period)  # asked again: posted already
    assert len(digests(two, pm_channel)) == len(digests(two, UO_CHANNEL)) == len(digests(two, OSU_CHANNEL)) == 1
