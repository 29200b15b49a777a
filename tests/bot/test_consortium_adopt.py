"""A single-institution database moved to consortium mode: start-up stops, naming `nzbot
adopt CODE`, until the rows are given to the member whose IZ they came from; then that
member's cases go on over HTTP (listed in its channel, picked by the PM, linked in its IZ)."""

from __future__ import annotations

import logging
import pytest

from alma.config import SettingError
from alma.simulator import consortium, member_key, seed
from bot import action_ids
from bot.app import create_bot
from bot.cli import main
from tests.slack.faults import SlackStub
from nzbot.store import Store
from tests.bot.conftest import BOT_TOKEN, CATALOGER, PM, REPORT, SECRET, Harness, block_text, click
from tests.bot.test_consortium import (OSU_CATALOGER, OSU_CHANNEL, UO_CATALOGER, UO_CHANNEL,
                                       ConsortiumHarness)
from tests.conftest import API_KEY, settings_for
from tests.nzbot.test_doctor_consortium import CONFIG as MEMBERS

# the doctor's two members, with the channels of tests.bot.test_consortium
CONFIG = MEMBERS.replace('"CREPORT01"', f'"{UO_CHANNEL}"').replace("{osu_report}", OSU_CHANNEL)


@pytest.fixture
def zones(tmp_path, monkeypatch):
    """Two IZs sharing one NZ; a Slack stand-in; the environment `nzbot adopt` reads."""
    with consortium(2, api_key=API_KEY, job_seconds=0.6, seed=1) as sim:
        stub = SlackStub(
            bot_token=BOT_TOKEN,
            users={CATALOGER: {"name": "cataloger"}, UO_CATALOGER: {"name": "uo.cataloger"},
                   OSU_CATALOGER: {"name": "osu.cataloger"}, PM: {"name": "program.manager"}},
            channels={REPORT: {"name": "nz-report"}, UO_CHANNEL: {"name": "uo-nz"},
                      OSU_CHANNEL: {"name": "osu-nz"}},
        ).start()
        config = tmp_path / "consortium.toml"
        config.write_text(CONFIG)
        for name, value in dict(
                NZBOT_CONFIG=str(config), ALMA_API_KEY_UO=API_KEY, ALMA_API_KEY_OSU=member_key(API_KEY, 2),
                ALMA_API_URL=sim.base_url, ALMA_NZ_SRU_URL=sim.sru_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=stub.api_url, NZBOT_PM_USERS=PM,
                NZBOT_DB=str(tmp_path / "nzbot.db")).items():
            monkeypatch.setenv(name, value)
        for name in ("ALMA_API_KEY", "NZBOT_REPORT_CHANNEL", "SLACK_APP_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        harnesses: list[Harness] = []
        try:
            yield sim, stub, tmp_path / "nzbot.db", harnesses
        finally:
            for h in harnesses:
                h.stop()
            stub.stop()


def single_then_consortium(zones):
    """A case sent to the PM by the single-institution bot (UO's IZ), that bot stopped;
    the consortium harness, not started, on the same database."""
    sim, stub, db_path, harnesses = zones
    single = Harness(sim=sim, stub=stub, db_path=db_path,
                     overrides={"alma": settings_for(sim, nz_api_key=sim.nz_api_key)})
    harnesses.append(single)
    single.start()
    click(single, action_ids.SEND_TO_PM, seed.CASES["multi_three"], user=CATALOGER, channel=REPORT)
    case = single.wait(lambda: next(iter(single.store.cases()), None), what="the case opened")
    single.wait(lambda: single.store.case_messages(case.id), what="the case shown to the PM")
    single.store.watch_moved("", "2026-11-30T08:00:00+00:00")
    single.stop()
    later = ConsortiumHarness(sim=sim, stub=stub, db_path=db_path)
    harnesses.append(later)
    return case, later


def adopt(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["adopt", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_start_up_stops_until_the_rows_are_adopted_then_the_case_goes_on(zones, capsys):
    case, later = single_then_consortium(zones)
    sim, stub, db_path, _ = zones
    with pytest.raises(SettingError) as refused:
        later.start()
    message = str(refused.value)
    assert "1 case" in message and "from before consortium mode" in message
    assert "`nzbot adopt CODE` (01SIM_UO, 01SIM_OSU)" in message
    store = Store(str(db_path))
    assert [c.institution for c in store.cases()] == [""]  # nothing changed

    code, out, err = adopt(capsys, "01SIM_UO")
    assert code == 0, err
    assert out.startswith("nzbot: gave 1 case and ")
    assert out.rstrip().endswith("of the single-institution set-up to University of Oregon (01SIM_UO).")
    assert {c.institution for c in store.cases()} == {"01SIM_UO"}
    assert store.watched_since("01SIM_UO") == "2026-11-30T08:00:00+00:00"  # its watch goes on
    assert store.watched_since("") is None
    assert store.rows_by_institution().keys() == {"01SIM_UO"}

    later.start()
    _, name = later.command("cases", user=UO_CATALOGER, channel=UO_CHANNEL)
    assert seed.CASES["multi_three"] in block_text(later.response(name).args)
    _, name = later.command("cases", user=OSU_CATALOGER, channel=OSU_CHANNEL)
    assert seed.CASES["multi_three"] not in block_text(later.response(name).args)
    # the PM's button on the message the single-institution bot posted links in UO's IZ
    chosen = seed.NZ_RECORDS["multi_three_b"]
    click(later, f"{action_ids.LINK_CANDIDATE}:1", f"{case.id}:{chosen}")
    later.wait(lambda: later.store.case(case.id).state == "linked", timeout=30, what="the case linked")
    assert sim.state.linked_nz_id_of(seed.CASES["multi_three"]) == chosen


def test_adopt_refuses_a_code_no_member_has_and_moves_nothing(zones, capsys):
    case, _ = single_then_consortium(zones)
    code, out, err = adopt(capsys, "01SIM_UOO")
    assert code == 2 and out == ""
    assert err.strip() == "nzbot: '01SIM_UOO' is not a member in NZBOT_CONFIG: give one of 01SIM_UO, 01SIM_OSU."
    assert [c.institution for c in Store(str(zones[2])).cases()] == [""]


def test_adopting_twice_says_there_is_nothing_left(zones, capsys):
    single_then_consortium(zones)
    assert adopt(capsys, "01SIM_UO")[0] == 0
    code, out, _ = adopt(capsys, "01SIM_OSU")
    assert code == 0 and "holds no rows of the single-institution set-up: nothing was moved" in out
    assert {c.institution for c in Store(str(zones[2])).cases()} == {"01SIM_UO"}


def test_a_corrected_code_takes_its_rows_with_it(zones, capsys):
    """A member's code fixed in NZBOT_CONFIG: its rows are kept (a warning says so) until
    `nzbot adopt --from OLD NEW` moves them."""
    case, later = single_then_consortium(zones)
    store = Store(str(zones[2]))
    store.move_rows("", "01SIM_U0")  # as if written under a mistyped code
    with _warnings() as seen:
        later.start()
    assert any("1 case" in line and "institution 01SIM_U0, which is not a member here" in line
               and "`nzbot adopt --from 01SIM_U0 CODE`" in line for line in seen)
    later.stop()
    code, out, _ = adopt(capsys, "--from", "01SIM_U0", "01SIM_UO")
    assert code == 0 and "of institution 01SIM_U0 to University of Oregon (01SIM_UO)" in out
    assert [c.institution for c in store.cases()] == ["01SIM_UO"]


def test_audit_lines_alone_do_not_stop_start_up(zones):
    sim, stub, db_path, harnesses = zones
    Store(str(db_path)).audit("nzbot", "link_requested", "set 1", "not allowed")
    later = ConsortiumHarness(sim=sim, stub=stub, db_path=db_path)
    harnesses.append(later)
    with _warnings() as seen:
        later.start()
    assert any("1 audit line of the single-institution set-up" in line and "`nzbot adopt CODE`" in line
               for line in seen)


class _warnings:
    """The WARNING lines logged by the bot's start-up inside the block."""

    def __enter__(self) -> list[str]:
        self.lines: list[str] = []
        self.handler = logging.Handler(logging.WARNING)
        self.handler.emit = lambda record: self.lines.append(record.getMessage())
        logging.getLogger("bot.app").addHandler(self.handler)
        return self.lines

    def __exit__(self, *exc) -> None:
        logging.getLogger("bot.app").removeHandler(self.handler)


def test_the_rows_of_the_single_institution_set_up_still_work_without_nzbot_config(zones):
    """Without NZBOT_CONFIG nothing is asked of anyone: the implicit institution owns them."""
    sim, stub, db_path, harnesses = zones
    Store(str(db_path)).add_link_job(set_id="1", set_name="x", set_size=1, requested_by=CATALOGER,
                                     channel=REPORT, state="reported", reconciled=1)
    single = Harness(sim=sim, stub=stub, db_path=db_path)
    harnesses.append(single)
    bot = create_bot(single.settings(), start_scheduler=False)
    try:
        assert [j.set_name for j in bot.services.store.link_jobs()] == ["x"]
    finally:
        bot.stop()


def test_adopt_without_nzbot_config_says_what_it_is_for(zones, capsys, monkeypatch):
    monkeypatch.delenv("NZBOT_CONFIG")
    monkeypatch.setenv("ALMA_API_KEY", API_KEY)
    monkeypatch.setenv("NZBOT_REPORT_CHANNEL", REPORT)
    code, out, err = adopt(capsys, "01SIM_UO")
    assert code == 2 and out == ""
    assert err.strip() == ("nzbot: nzbot adopt gives rows to a member institution of NZBOT_CONFIG: set "
                           "NZBOT_CONFIG first (consortium mode).")
