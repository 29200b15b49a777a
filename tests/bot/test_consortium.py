"""Consortium mode over HTTP: one bot for two member institutions sharing one NZ (the
simulator serving two IZs, each with its own key), one Program Manager for both."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from alma.simulator import consortium, member_key, seed
from bot import action_ids
from tests.slack.faults import SlackStub
from nzbot.institutions import Institution
from nzbot.settings import BotSettings
from tests.bot.conftest import BOT_TOKEN, PM, SECRET, Harness, block_text, click, queue_message, review
from tests.conftest import API_KEY, settings_for

UO_CHANNEL, OSU_CHANNEL, OSU_OTHER, STRAY = "CUOCAT001", "COSUCAT01", "COSUCAT02", "CRANDOM01"
UO_CATALOGER, OSU_CATALOGER = "UUOCATLG1", "UOSUCATL1"
LINK = f"{action_ids.LINK_CANDIDATE}:1"


def in_second(mms_id: str) -> str:
    """The second member's copy of a sample record: its MMS IDs end with 06392."""
    return mms_id[:-5] + "06392"


class ConsortiumHarness(Harness):
    def settings(self) -> BotSettings:
        alma = settings_for(self.sim, nz_api_key=self.sim.nz_api_key)
        members = (
            Institution(code="01SIM_UO", name="University of Oregon", alma=alma, channels=(UO_CHANNEL,),
                        api_key_env="ALMA_API_KEY_UO"),
            Institution(code="01SIM_OSU", name="Oregon State University",
                        alma=replace(alma, api_key=member_key(API_KEY, 2)), channels=(OSU_CHANNEL, OSU_OTHER),
                        api_key_env="ALMA_API_KEY_OSU"),
        )
        return BotSettings(alma=replace(alma, api_key=""), bot_token=BOT_TOKEN, signing_secret=SECRET,
                           slack_api_url=self.stub.api_url, pm_users=(PM,), db_path=str(self.db_path),
                           poll_seconds=0.2, discover_seconds=0.3, case_batch_seconds=0.2,
                           members=members, config_path="consortium.toml",
                           **self.overrides)

    @property
    def osu(self):
        return self.sim.zones[member_key(API_KEY, 2)]

    def member_store(self, code: str):
        return self.bot.services.members[code].store


@pytest.fixture
def two(tmp_path):
    with consortium(2, api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = SlackStub(
            bot_token=BOT_TOKEN,
            users={UO_CATALOGER: {"name": "uo.cataloger"}, OSU_CATALOGER: {"name": "osu.cataloger"},
                   PM: {"name": "program.manager"}},
            channels={UO_CHANNEL: {"name": "uo-nz"}, OSU_CHANNEL: {"name": "osu-nz"},
                      OSU_OTHER: {"name": "osu-cataloging"}, STRAY: {"name": "random"}},
        ).start()
        h = ConsortiumHarness(sim=sim, stub=stub, db_path=tmp_path / "nzbot.db")
        try:
            yield h.start()
        finally:
            h.stop()
            stub.stop()


def test_each_members_command_reads_its_own_zone(two):
    osu_only = two.osu.state.add_iz(two.osu.state.iz[in_second(seed.CASES["unique"])].marc).mms_id
    _, name = two.command(f"match {osu_only}", user=OSU_CATALOGER, channel=OSU_OTHER)
    answer = block_text(two.response(name).args)
    assert osu_only in answer and "not found" not in answer.lower()
    _, name = two.command(f"match {osu_only}", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert "no bib record with mms id" in block_text(two.response(name).args).lower()  # not in UO's IZ
    # each IZ answered its own command, with its own key
    assert sum(two.osu.calls.values()) > 0 and sum(two.sim.calls.values()) > 0


def test_a_command_from_a_channel_of_no_member_says_so_and_looks_nothing_up(two):
    time.sleep(0.5)  # let the first scheduler rounds pass
    before = sum(two.sim.calls.values()) + sum(two.osu.calls.values())
    answer, name = two.command(f"match {seed.CASES['unique']}", user=UO_CATALOGER, channel=STRAY)
    assert answer.status_code == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    text = block_text(body)
    assert "not linked to an institution" in text
    assert f"<#{UO_CHANNEL}>" in text and f"<#{OSU_CHANNEL}>" in text and "Oregon State University" in text
    time.sleep(0.3)
    assert not two.stub.responses(name)  # nothing looked up, nothing answered later
    lookups = sum(n for k, n in (two.sim.calls + two.osu.calls).items() if "/conf/jobs" not in k)
    assert lookups <= before  # only the scheduler's job watching, no lookup


def test_two_members_jobs_run_at_once_under_their_own_limits(two):
    for state in (two.sim.state, two.osu.state):
        state.job_limits.max_running_api_jobs = 1
        state.job_seconds = 1.5
    uo_sets = [two.sim.state.make_set(f"UO {n}", [seed.CASES["unique"]]).id for n in range(2)]
    osu_sets = [two.osu.state.make_set(f"OSU {n}", [in_second(seed.CASES["unique"])]).id for n in range(2)]
    for set_id in uo_sets:
        two.command(f"link {set_id}", user=UO_CATALOGER, channel=UO_CHANNEL)
    for set_id in osu_sets:
        two.command(f"link {set_id}", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    uo, osu = two.member_store("01SIM_UO"), two.member_store("01SIM_OSU")
    # each request is recorded after its ack: on a loaded machine the last may come after a run starts
    two.wait(lambda: len(uo.link_jobs()) == 2 and len(osu.link_jobs()) == 2, what="the four requests recorded")
    two.wait(lambda: uo.link_jobs("running") and osu.link_jobs("running"), what="a run in each IZ")
    # each IZ holds one run at a time (its own limit); the other member's run does not count
    assert len(uo.link_jobs("running")) == 1 and len(osu.link_jobs("running")) == 1
    assert {j.set_id for j in osu.link_jobs()} == set(osu_sets)
    assert all(j.institution == "01SIM_OSU" for j in osu.link_jobs())
    two.wait(lambda: len(uo.link_jobs("reported")) == 2 and len(osu.link_jobs("reported")) == 2,
             timeout=30, what="all four reported")
    assert {r.params.get("set_id") for r in two.osu.state.runs.values() if r.by_api} >= set(osu_sets)
    assert not {r.params.get("set_id") for r in two.sim.state.runs.values()} & set(osu_sets) - set(uo_sets)
    # reports go to each member's report channel (its first channel)
    uo_texts = " ".join(block_text(m) for m in two.stub.messages(UO_CHANNEL))
    osu_texts = " ".join(block_text(m) for m in two.stub.messages(OSU_CHANNEL))
    assert "UO 0" in uo_texts and "OSU 0" not in uo_texts
    assert "OSU 0" in osu_texts and "UO 0" not in osu_texts.replace("OSU 0", "")


def test_both_members_cases_reach_the_one_pm_queue_and_each_pick_links_in_its_own_iz(two):
    uo_iz, osu_iz = seed.CASES["multi_three"], in_second(seed.CASES["multi_three"])
    chosen = seed.NZ_RECORDS["multi_three_b"]
    two.command(f"link {two.sim.state.make_set('UO cases', [uo_iz]).id}", user=UO_CATALOGER, channel=UO_CHANNEL)
    two.command(f"link {two.osu.state.make_set('OSU cases', [osu_iz]).id}", user=OSU_CATALOGER,
                channel=OSU_CHANNEL)
    store = two.store
    cases = two.wait(lambda: len(store.cases()) == 2 and store.cases(), timeout=30, what="a case from each member")
    by_code = {c.institution: c for c in cases}
    assert set(by_code) == {"01SIM_UO", "01SIM_OSU"}
    assert by_code["01SIM_OSU"].iz_mms_id == osu_iz
    # one queue: each member's job has its queue message in the PM's DM, naming the member
    places = {code: queue_message(two, case.link_job, timeout=30) for code, case in by_code.items()}
    channels = {channel for channel, _ in places.values()}
    assert len(channels) == 1 and next(iter(channels)).startswith("D")
    for code, name in (("01SIM_UO", "University of Oregon"), ("01SIM_OSU", "Oregon State University")):
        channel, ts = places[code]
        assert name in block_text(next(m for m in two.stub.messages(channel) if m["ts"] == ts))
        review(two, by_code[code], timeout=30)
        assert name in block_text(next(m for m in two.stub.messages(channel) if m["ts"] == ts))

    # /nz cases: all members' in the PM's DM, only its own in a member's channel
    dm = next(iter(channels))
    _, name = two.command("cases", user=PM, channel=dm)
    listed = block_text(two.response(name).args)
    assert uo_iz in listed and osu_iz in listed
    assert f"01SIM_UO \u00b7 `{uo_iz}`" in listed and f"01SIM_OSU \u00b7 `{osu_iz}`" in listed  # whose each is
    _, name = two.command("cases", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    listed = block_text(two.response(name).args)
    assert osu_iz in listed and uo_iz not in listed

    # the pick of OSU's case links OSU's record, in OSU's IZ
    osu_case = by_code["01SIM_OSU"]
    click(two, LINK, action_ids.case_value(osu_case.id, chosen) if hasattr(action_ids, "case_value")
          else f"{osu_case.id}:{chosen}", channel=dm)
    two.wait(lambda: store.case(osu_case.id).state == "linked", timeout=30, what="OSU's case linked")
    assert two.osu.state.linked_nz_id_of(osu_iz) == chosen
    assert two.sim.state.linked_nz_id_of(uo_iz) is None
    assert store.case(by_code["01SIM_UO"].id).state == "open"
    uo_case = by_code["01SIM_UO"]
    click(two, LINK, f"{uo_case.id}:{chosen}", channel=dm)
    two.wait(lambda: store.case(uo_case.id).state == "linked", timeout=30, what="UO's case linked")
    assert two.sim.state.linked_nz_id_of(uo_iz) == chosen


def test_one_members_alma_outage_never_delays_anothers_work(two):
    two.osu.faults.latency = 4.0  # every call of OSU's IZ hangs (its timeout is 5 s), then fails
    two.osu.faults.error_rate = 1.0
    for n in range(6):  # OSU's catalogers keep its workers and rounds busy
        two.command(f"match {in_second(seed.CASES['unique'])}", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    two.command(f"link {seed.SETS['link_test']}", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    started = time.monotonic()
    _, name = two.command(f"match {seed.CASES['unique']}", user=UO_CATALOGER, channel=UO_CHANNEL)
    answer = block_text(two.response(name, timeout=5).args)
    assert seed.NZ_RECORDS["unique"] in answer
    assert time.monotonic() - started < 3.5  # not behind OSU's hanging calls
    two.command(f"link {two.sim.state.make_set('UO during the outage', [seed.CASES['unique']]).id}",
                user=UO_CATALOGER, channel=UO_CHANNEL)
    uo = two.member_store("01SIM_UO")
    two.wait(lambda: uo.link_jobs("reported"), timeout=15, what="UO's job reported during OSU's outage")
    assert two.member_store("01SIM_OSU").link_jobs("reported") == []


def test_the_one_nz_key_is_one_client_for_every_member(two):
    uo, osu = (two.bot.services.members[code].alma for code in ("01SIM_UO", "01SIM_OSU"))
    assert uo.has_nz_key and uo._nz is osu._nz  # one pace limiter for the NZ's 25 calls/s
    nz_id = seed.NZ_RECORDS["unique"]
    assert uo.get_nz_bib(nz_id).mms_id == nz_id == osu.get_nz_bib(nz_id).mms_id


def test_the_home_tab_names_each_members_job(two):
    """Two members' sets may share a name: each job on the Program Manager's Home tab says
    whose it is."""
    from tests.bot.test_pm_queue import home_opened, published

    uo_iz, osu_iz = seed.CASES["multi_three"], in_second(seed.CASES["multi_three"])
    two.command(f"link {two.sim.state.make_set('New books', [uo_iz]).id}", user=UO_CATALOGER, channel=UO_CHANNEL)
    two.command(f"link {two.osu.state.make_set('New books', [osu_iz]).id}", user=OSU_CATALOGER,
                channel=OSU_CHANNEL)
    two.wait(lambda: len(two.store.cases()) == 2, timeout=30, what="a case from each member")
    seen = len(two.stub.calls("views.publish"))
    assert home_opened(two).status_code == 200
    view = two.wait(lambda: next((c.args["view"] for c in published(two, seen)
                                  if block_text(c.args["view"]).count("New books") == 2), None),
                    timeout=15, what="the Home tab with both jobs")
    rows = [block_text(b) for b in view["blocks"] if "New books" in block_text(b)]
    whose = sorted(("University of Oregon (01SIM_UO)" in row, "Oregon State University (01SIM_OSU)" in row)
                   for row in rows)
    assert whose == [(False, True), (True, False)], rows  # each row one member, each member once
