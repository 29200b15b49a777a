"""The figures (nzbot/stats.py, the store's figure queries) against an independent count of
the same rows, week by week in a time zone with a clock change; /nz stats' WEEKS; and
NZBOT_DIGEST and NZBOT_TIMEZONE, as settings and as the digest's moments."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from alma.config import SettingErrors
from nzbot import digest
from nzbot.access import EVERY_MEMBER, Scope
from nzbot.institutions import Institution
from nzbot.report import COUNTER_KINDS
from nzbot.settings import BotSettings
from nzbot.stats import DEFAULT_WEEKS, MAX_WEEKS, figures, parse_weeks, weeks_until
from nzbot.store import Store
from tests.conftest import API_KEY

ZONE = "Europe/Amsterdam"  # clocks go forward on Sunday 31 March 2024
NOW = datetime(2024, 4, 17, 9, 30, tzinfo=timezone.utc)  # a Wednesday
CODES = ("01SIM_UO", "01SIM_OSU")
DECISIONS = ("link", "merge", "contribute", "skip", "recheck")
KEYS = {kind: key for key, kind in COUNTER_KINDS.items()}  # failed too: it is in no figure
KINDS = ("linked", "imported", "skipped", "multi_matched")


def env(**more) -> dict[str, str]:
    return {"ALMA_API_KEY": API_KEY, "ALMA_NZ_SRU_URL": "https://example.org/view/sru/01SIM_NETWORK",
            "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "test-signing-secret",
            "NZBOT_REPORT_CHANNEL": "CREPORT01", "NZBOT_PM_USERS": "UPROGMGR1", **more}


def settings(**values) -> BotSettings:
    base = BotSettings.from_env(env(NZBOT_TIMEZONE=ZONE))
    members = tuple(Institution(code=c, name=c, alma=base.alma, channels=(f"C{i}CHANNEL",), api_key_env=f"KEY_{i}")
                    for i, c in enumerate(CODES))
    return BotSettings(alma=base.alma, bot_token=base.bot_token, signing_secret=base.signing_secret,
                       pm_users=base.pm_users, members=members, timezone=ZONE, **values)


def stamp(moment: datetime, style: int) -> str:
    """nzbot's own ISO form, or Alma's (…Z, with milliseconds): both are read."""
    return moment.isoformat(timespec="seconds") if style else moment.strftime("%Y-%m-%dT%H:%M:%S.123Z")


@pytest.fixture
def filled(tmp_path):
    """Two members' link jobs and cases over seven weeks, made by the store's writers, their
    times then spread over those weeks (and some before), as random as a seed makes them."""
    store = Store(str(tmp_path / "nzbot.db"))
    rng = random.Random(22)
    start = NOW - timedelta(weeks=7)

    def when() -> datetime:
        return start + timedelta(seconds=rng.randrange(int((NOW - start).total_seconds())))

    for code in CODES:
        view = store.for_institution(code)
        for n in range(25):
            counts = {kind: rng.randrange(0, 50) for kind in KEYS}
            counters = [[KEYS[k], k, v] for k, v in counts.items()] + [["something.else", "Other", 7]]
            finished = when() if n % 6 else None  # some never ran (queued, refused)
            view.add_link_job(set_id=str(n), set_name=f"set {n}", set_size=100, requested_by="U1", channel="C1",
                              state="reported" if finished else "queued", counters=counters,
                              finished_at=stamp(finished, n % 2) if finished else None)
        for n in range(40):
            case = view.open_case(f"99{n:08d}{code[-2:]}", f"title {n}", [], None)
            created = when()
            values = {"created_at": stamp(created, 1)}
            if n % 3:
                decided = created + timedelta(hours=rng.randrange(1, 24 * 20))
                decision = DECISIONS[n % len(DECISIONS)]
                chosen = f"99{n}" if decision in ("link", "merge") else None
                values |= {"decision": decision, "decided_at": stamp(min(decided, NOW), 1), "chosen_nz_mms_id": chosen,
                           "suggested_nz_mms_id": chosen if n % 2 else "99other",
                           "state": {"skip": "skipped", "recheck": "open"}.get(decision, rng.choice(
                               ["linked", "failed", "deciding"]))}
            else:
                values["state"] = rng.choice(["open", "failed"])
            store.db["cases"].update(case.id, values)
    return store


def parsed(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def independent_weeks(count: int) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(ZONE)
    today = NOW.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    starts = [datetime.combine(monday - timedelta(weeks=k), time(0), zone) for k in range(count, -2, -1)]
    return list(zip(starts, starts[1:]))[1:]


def expected(store: Store, code: str, count: int) -> list[dict[str, int]]:
    """Each week's figures counted here, row by row, without the store's queries."""
    weeks = independent_weeks(count)
    jobs = [j for j in store.link_jobs() if j.institution == code and j.finished_at]
    cases = [c for c in store.whole().cases() if c.institution == code]
    out = []
    for start, stop in weeks:
        inside = lambda t: t is not None and start <= t < stop  # noqa: E731
        ran = [j for j in jobs if inside(parsed(j.finished_at))]
        row = {"runs": len(ran)}
        for kind in KINDS:
            row[kind] = sum(c.value for j in ran for c in j.counters if COUNTER_KINDS.get(c.key) == kind)
        decided = [c for c in cases if c.decision and c.decision != "recheck" and c.decided_at]
        row["opened"] = sum(inside(parsed(c.created_at)) for c in cases)
        row["decided"] = sum(inside(parsed(c.decided_at)) for c in decided)
        row["accepted"] = sum(inside(parsed(c.decided_at)) and c.decision == "link"
                              and c.chosen_nz_mms_id == c.suggested_nz_mms_id for c in decided)
        row["open_at_end"] = sum(parsed(c.created_at) < stop and not (c in decided and parsed(c.decided_at) < stop)
                                 for c in cases)
        out.append(row)
    return out


@pytest.mark.parametrize("count", [1, DEFAULT_WEEKS, 9])
def test_every_figure_of_every_member_matches_an_independent_count(filled, count):
    found = figures(filled, settings(), count, scope=EVERY_MEMBER, now=NOW)
    assert [m.code for m in found.members] == list(CODES)
    for member in found.members:
        got = [{k: getattr(w, k) for k in ("runs", *KINDS, "opened", "decided", "accepted", "open_at_end")}
               for w in member.weeks]
        want = expected(filled, member.code, count)
        assert got == want, member.code
        if count == 9:  # every figure has something to count, before the first week too
            assert all(sum(w[k] for w in want) > 0 for k in want[0]), want
            assert any(w["open_at_end"] > w["opened"] > 0 for w in want)  # cases carried over
        waiting = [c for c in filled.whole().cases("open", "failed") if c.institution == member.code]
        assert member.waiting == len(waiting) > 0
        assert member.oldest_waiting_since == min(parsed(c.created_at) for c in waiting)
    # the consortium's weeks are the members' added up
    assert [w.linked for w in found.consortium.weeks] == [
        sum(m.weeks[i].linked for m in found.members) for i in range(count)]


def test_a_members_scope_sees_only_its_own_rows(filled):
    everyone = figures(filled, settings(), 9, scope=EVERY_MEMBER, now=NOW)
    mine = figures(filled.for_institution(CODES[1]), settings(), 9, scope=Scope.member(CODES[1]), now=NOW)
    assert [m.code for m in mine.members] == [CODES[1]]
    assert mine.members[0] == everyone.members[1]
    assert mine.members[0].total("linked") != everyone.members[0].total("linked")


def test_weeks_begin_on_monday_at_midnight_local_time_across_a_clock_change():
    zone = ZoneInfo(ZONE)
    weeks = weeks_until(date(2024, 4, 3), 2, zone)
    assert [w.monday for w in weeks] == [date(2024, 3, 25), date(2024, 4, 1)]
    assert [w.label for w in weeks] == ["2024-W13", "2024-W14"]
    assert weeks[0].start == datetime(2024, 3, 24, 23, 0, tzinfo=timezone.utc)  # CET, UTC+1
    assert weeks[0].stop == weeks[1].start == datetime(2024, 3, 31, 22, 0, tzinfo=timezone.utc)  # CEST
    assert weeks[0].stop - weeks[0].start == timedelta(hours=167)


@pytest.mark.parametrize("words, weeks", [([], DEFAULT_WEEKS), (["1"], 1), (["12"], 12), ([str(MAX_WEEKS)], MAX_WEEKS)])
def test_weeks_asked_for(words, weeks):
    assert parse_weeks(words) == weeks


@pytest.mark.parametrize("words, said", [(["0"], "not 0"), ([str(MAX_WEEKS + 1)], f"not {MAX_WEEKS + 1}"),
                                         (["four"], "number of weeks"), (["4", "5"], "number of weeks"),
                                         (["-3"], "number of weeks"), (["\u0664"], "number of weeks")])
def test_bad_weeks_are_refused_in_words(words, said):
    with pytest.raises(ValueError, match=said):
        parse_weeks(words)


@pytest.mark.parametrize("text, at", [
    ("", digest.DigestAt(0, time(8, 0))), ("mon 08:00", digest.DigestAt(0, time(8, 0))),
    ("  Friday   17:30 ", digest.DigestAt(4, time(17, 30))), ("sun 0:05", digest.DigestAt(6, time(0, 5))),
    ("off", None), ("OFF", None)])
def test_nzbot_digest_is_read(text, at):
    assert BotSettings.from_env(env(NZBOT_DIGEST=text)).digest == at


@pytest.mark.parametrize("text", ["monday", "08:00", "mon 8", "mon 24:00", "mon 08:60", "tues 08:00",
                                  "mondays 08:00", "every monday", "mon 08:00 utc", "mon 8am"])
def test_a_malformed_nzbot_digest_stops_start_up_with_one_line_naming_it(text):
    with pytest.raises(SettingErrors) as raised:
        BotSettings.from_env(env(NZBOT_DIGEST=text))
    lines = str(raised.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith("NZBOT_DIGEST "), lines


def test_nzbot_timezone_defaults_to_utc_and_a_name_no_zone_has_is_refused():
    assert BotSettings.from_env(env()).timezone == "UTC"
    assert BotSettings.from_env(env(NZBOT_TIMEZONE="America/Los_Angeles")).zone.key == "America/Los_Angeles"
    with pytest.raises(SettingErrors, match="^NZBOT_TIMEZONE must be an IANA time zone name"):
        BotSettings.from_env(env(NZBOT_TIMEZONE="Pacific Time"))


def test_the_digest_is_due_once_its_moment_has_passed_in_the_consortiums_time_zone():
    zone, at = ZoneInfo("America/Los_Angeles"), digest.parse("mon 08:00")
    long_ago = datetime(2024, 1, 1, tzinfo=timezone.utc)
    before = datetime(2024, 5, 6, 14, 59, tzinfo=timezone.utc)  # Monday 07:59 in Los Angeles
    after = datetime(2024, 5, 6, 15, 0, tzinfo=timezone.utc)
    assert digest.due(at, before, long_ago, zone).key == "2024-W18"  # last week's moment
    assert digest.due(at, after, long_ago, zone).key == "2024-W19"
    assert digest.due(at, after + timedelta(days=6), long_ago, zone).key == "2024-W19"
    assert digest.due(at, after, long_ago, zone).last_day_shown == date(2024, 5, 5)
    # a bot first looking after a moment posts nothing for it; the next one it does
    assert digest.due(at, after, after - timedelta(minutes=1), zone).key == "2024-W19"
    assert digest.due(at, after + timedelta(hours=1), after + timedelta(minutes=1), zone) is None
    assert digest.due(None, after, long_ago, zone) is None  # off
