"""Each case keeps its suggested pick beside its candidates; other rules at start-up draw
the open cases' suggestions again, and a decided case keeps the one its decider saw."""

from __future__ import annotations

import pytest

from alma.cards import RecordCard
from alma.config import SettingErrors
from alma.suggestion import Rule
from nzbot.access import EVERY_MEMBER
from nzbot.settings import BotSettings
from nzbot.states import CaseState, Decision
from nzbot.store import Store
from tests.nzbot.test_institutions import BASE as CONSORTIUM

BASE = {**CONSORTIUM, "ALMA_API_KEY": "iz-key-0123456789", "NZBOT_REPORT_CHANNEL": "CREPORT01"}

IZ = RecordCard(mms_id="9911", title="Birds", record_format="am", encoding_level=" ")
# candidate 1: full, held by one; candidate 2: minimal, held by three
FULL = RecordCard(mms_id="9921", title="Birds", record_format="am", encoding_level=" ", holding_institutions=("A",))
MINIMAL = RecordCard(mms_id="9922", title="Birds", record_format="am", encoding_level="7",
                     holding_institutions=("A", "B", "C"))


def test_a_case_keeps_its_suggestion_and_new_rules_draw_the_open_ones_again(tmp_path):
    path = str(tmp_path / "nzbot.db")
    store = Store(path, suggestion_rules=None)
    open_case = store.open_case("9911", "Birds", [FULL, MINIMAL], 1, IZ)
    decided = store.open_case("9912", "Birds", [FULL, MINIMAL], 1, IZ)
    assert (open_case.suggested_nz_mms_id, open_case.suggested_rule) == ("9921", Rule.ENCODING_LEVEL)
    assert open_case.suggestion_reasons == ("Candidate 2's encoding level is Minimal (Leader/17), candidate 1's Full",)
    assert store.move_case(decided.id, CaseState.OPEN, CaseState.DECIDING, decision=Decision.LINK,
                           chosen_nz_mms_id="9922", decided_by="UPM")
    assert store.suggestion_counts(1, scope=EVERY_MEMBER) == {Rule.ENCODING_LEVEL: 1}
    assert store.suggested_case_ids(1, scope=EVERY_MEMBER) == [open_case.id]
    store.close()
    # a consortium puts holdings first: the open case's suggestion changes, the decided one's stays
    store = Store(path, suggestion_rules=(Rule.MORE_HOLDINGS, Rule.ENCODING_LEVEL))
    assert (store.case(open_case.id).suggested_nz_mms_id, store.case(open_case.id).suggested_rule) == (
        "9922", Rule.MORE_HOLDINGS)
    assert store.case(decided.id).suggested_nz_mms_id == "9921"
    store.close()
    # a command that only reads leaves them as the bot last drew them
    store = Store(path)
    assert store.suggestion_rules == (Rule.MORE_HOLDINGS, Rule.ENCODING_LEVEL)
    assert store.case(open_case.id).suggested_nz_mms_id == "9922"
    store.close()
    # suggestions off: none, and no reasons
    store = Store(path, suggestion_rules=())
    assert store.case(open_case.id).suggested_nz_mms_id is None and store.case(open_case.id).suggestion_reasons == ()
    store.close()


def test_new_candidates_bring_their_suggestion(tmp_path):
    store = Store(str(tmp_path / "nzbot.db"))
    case = store.open_case("9911", "Birds", [FULL, FULL], 1, IZ)  # alike: no suggestion, why not
    assert case.suggested_nz_mms_id is None and "true duplicates" in case.suggestion_reasons[0]
    assert store.move_case(case.id, CaseState.OPEN, CaseState.OPEN, candidates=[FULL, MINIMAL])
    assert store.case(case.id).suggested_nz_mms_id == "9921"
    store.close()


def test_the_rules_setting_is_read_and_a_bad_one_named():
    assert BotSettings.from_env(BASE).suggestion_rules == tuple(Rule)
    assert BotSettings.from_env({**BASE, "NZBOT_SUGGESTION_RULES": "oclc_survivor, same_kind"}).suggestion_rules == (
        Rule.OCLC_SURVIVOR, Rule.SAME_KIND)
    assert BotSettings.from_env({**BASE, "NZBOT_SUGGESTION_RULES": "off"}).suggestion_rules == ()
    with pytest.raises(SettingErrors, match="NZBOT_SUGGESTION_RULES: unknown rule 'newest'"):
        BotSettings.from_env({**BASE, "NZBOT_SUGGESTION_RULES": "newest"})
