import json
from dataclasses import FrozenInstanceError

import pytest

from alma.matching import (
    Match,
    NzIndex,
    Verdict,
    candidates_for,
    match_bib,
    match_oclc,
    to_json,
)
from alma.models import Bib
from alma.oclc import OclcNumbers, oclc_numbers
from tests.alma.marc_builders import bib_record, field

NZ_A = "99160483400001451"
NZ_B = "99170000000001451"
NZ_C = "99180000000001451"


def iz_bib(*oclc, cancelled=(), merged=(), linked=None, mms_id="9949620601852", **kwargs):
    record = bib_record(mms_id=mms_id, oclc=oclc, cancelled=cancelled, merged=merged, **kwargs)
    return Bib(mms_id=mms_id, title="A title", linked_nz_mms_id=linked, record=record)


def nz(mms_id, *oclc, cancelled=(), merged=(), **kwargs):
    return bib_record(mms_id=mms_id, oclc=oclc, cancelled=cancelled, merged=merged, **kwargs)


def test_verdict_values_are_the_agreed_strings():
    assert [v.value for v in Verdict] == ["linked", "no_oclc", "none", "unique", "multi", "unreadable"]
    assert Verdict("multi") is Verdict.MULTI
    assert json.dumps(Verdict.UNIQUE) == '"unique"'


def test_unique_match_across_number_forms():
    match = match_bib(iz_bib("(OCoLC)ocm00012345"), [nz(NZ_A, "(OCoLC)12345")])
    assert match.verdict is Verdict.UNIQUE
    assert [c.mms_id for c in match.candidates] == [NZ_A]
    assert match.linked_nz_mms_id is None
    assert match.iz.mms_id == "9949620601852"


def test_no_candidate():
    match = match_bib(iz_bib("(OCoLC)12345"), [nz(NZ_A, "(OCoLC)54321")])
    assert match.verdict is Verdict.NONE
    assert match.candidates == ()


def test_multi_match_when_two_nz_records_carry_the_number():
    pool = [nz(NZ_A, "(OCoLC)12345"), nz(NZ_B, "(OCoLC)ocn000012345")]
    match = match_bib(iz_bib("(OCoLC)12345"), pool)
    assert match.verdict is Verdict.MULTI
    assert [c.mms_id for c in match.candidates] == [NZ_A, NZ_B]


def test_already_linked_wins_and_says_to_which_record():
    match = match_bib(iz_bib("(OCoLC)12345", linked=NZ_A), [nz(NZ_B, "(OCoLC)12345")])
    assert match.verdict is Verdict.LINKED
    assert match.linked_nz_mms_id == NZ_A
    assert match.candidates == ()


def test_linked_even_without_an_ocn():
    assert match_bib(iz_bib(linked=NZ_A), []).verdict is Verdict.LINKED


def test_empty_linked_id_is_not_linked():
    assert match_bib(iz_bib("(OCoLC)1", linked=""), [nz(NZ_A, "(OCoLC)1")]).verdict is Verdict.UNIQUE


def test_no_usable_ocn_in_035_a():
    bib = iz_bib("(OCoLC)TGPSM11-B2267", "(OCoLC-M)12345", "12345", cancelled=("(OCoLC)12345",))
    match = match_bib(bib, [nz(NZ_A, "(OCoLC)12345")])
    assert match.verdict is Verdict.NO_OCLC
    assert match.candidates == ()
    assert match.iz_oclc.cancelled == ("12345",)


def test_brief_bib_without_marc_has_no_ocn_but_keeps_its_title():
    bib = Bib(mms_id="9911", title="Brief title", linked_nz_mms_id=None, record=None)
    match = match_bib(bib, [nz(NZ_A, "(OCoLC)1")])
    assert match.verdict is Verdict.NO_OCLC
    assert match.iz.title == "Brief title"


def test_iz_cancelled_number_is_not_searched_with():
    match = match_bib(iz_bib("(OCoLC)1", cancelled=("(OCoLC)2",), merged=("3",)), [
        nz(NZ_A, "(OCoLC)2"),
        nz(NZ_B, "(OCoLC)3"),
    ])
    assert match.verdict is Verdict.NONE


def test_nz_cancelled_number_does_match():
    match = match_bib(iz_bib("(OCoLC)1"), [nz(NZ_A, "(OCoLC)99", cancelled=("(OCoLC)ocm00000001",))])
    assert match.verdict is Verdict.UNIQUE
    assert match.candidates[0].oclc_numbers == ("99", "1")


def test_nz_019_alone_does_not_match_but_is_shown():
    pool = [nz(NZ_A, "(OCoLC)99", merged=("1",)), nz(NZ_B, "(OCoLC)1", merged=("555",))]
    match = match_bib(iz_bib("(OCoLC)1"), pool)
    assert [c.mms_id for c in match.candidates] == [NZ_B]
    assert match.candidates[0].oclc_numbers == ("1", "555")


def test_nz_record_with_several_ocns_is_one_candidate():
    pool = [nz(NZ_A, "(OCoLC)1", "(OCoLC)2", "(OCoLC)ocm00000001", cancelled=("(OCoLC)2",))]
    match = match_bib(iz_bib("(OCoLC)1", "(OCoLC)2"), pool)
    assert match.verdict is Verdict.UNIQUE
    assert len(match.candidates) == 1


def test_iz_with_two_ocns_matching_different_nz_records_is_multi():
    pool = [nz(NZ_A, "(OCoLC)1"), nz(NZ_B, "(OCoLC)2")]
    match = match_bib(iz_bib("(OCoLC)1", "(OCoLC)2"), pool)
    assert match.verdict is Verdict.MULTI


def test_duplicate_records_in_the_pool_collapse_by_mms_id():
    pool = [nz(NZ_A, "(OCoLC)1"), nz(NZ_A, "(OCoLC)1"), nz(NZ_B, "(OCoLC)7")]
    assert match_bib(iz_bib("(OCoLC)1"), pool).verdict is Verdict.UNIQUE


def test_pool_records_without_001_are_ignored():
    pool = [nz(None, "(OCoLC)1"), nz(NZ_A, "(OCoLC)1")]
    assert [c.mms_id for c in candidates_for(OclcNumbers(active=("1",)), pool)] == [NZ_A]


def test_candidates_for_filters_the_batch_pool_in_stable_order():
    pool = [nz(NZ_C, "(OCoLC)3"), nz(NZ_B, "(OCoLC)1"), nz(NZ_A, "(OCoLC)2", "(OCoLC)1")]
    numbers = oclc_numbers(bib_record(oclc=("(OCoLC)1",)))
    assert [c.mms_id for c in candidates_for(numbers, pool)] == [NZ_B, NZ_A]


def test_serial_iz_matches_serial_nz():
    match = match_bib(
        iz_bib("(OCoLC)1", record_format="as"), [nz(NZ_A, "(OCoLC)1", record_format="as")]
    )
    assert match.verdict is Verdict.UNIQUE
    assert match.iz.is_serial and match.candidates[0].is_serial


def test_index_lookups_and_replacement():
    index = NzIndex([nz(NZ_A, "(OCoLC)1", cancelled=("(OCoLC)2",), merged=("3",))])
    assert index.mms_ids_for("1") == (NZ_A,)
    assert index.mms_ids_for("2") == (NZ_A,)
    assert index.mms_ids_for("3") == ()  # 019 is not matched on
    assert NZ_A in index and len(index) == 1
    # The same record again, now with another number, replaces the first copy.
    card = index.add(nz(NZ_A, "(OCoLC)4"))
    assert card.mms_id == NZ_A
    assert index.mms_ids_for("1") == ()
    assert index.mms_ids_for("4") == (NZ_A,)
    assert index.card(NZ_A).oclc_numbers == ("4",)
    assert index.add(nz(None, "(OCoLC)5")) is None
    assert len(index) == 1


def test_thousand_records_against_one_index():
    index = NzIndex(nz(f"99{n:08d}01451", f"(OCoLC){n}") for n in range(1, 1001))
    index.add(nz("99999999901451", "(OCoLC)500"))  # an NZ duplicate for one number
    bibs = [iz_bib(f"(OCoLC)ocm{n:08d}", mms_id=f"99{n}1852") for n in range(1, 1001)]
    matches = [match_bib(bib, index) for bib in bibs]
    verdicts = [m.verdict for m in matches]
    assert verdicts.count(Verdict.UNIQUE) == 999
    assert verdicts[499] is Verdict.MULTI
    assert matches[0].candidates[0].mms_id == "990000000101451"


def test_match_oclc_by_typed_number():
    index = NzIndex([nz(NZ_A, "(OCoLC)1"), nz(NZ_B, "(OCoLC)1"), nz(NZ_C, "(OCoLC)2")])
    assert match_oclc("1", index).verdict is Verdict.MULTI
    two = match_oclc("(OCoLC)ocm00000002", index)
    assert two.verdict is Verdict.UNIQUE
    assert two.iz is None and two.iz_oclc.active == ("2",)
    assert match_oclc("3", index).verdict is Verdict.NONE
    assert match_oclc("TGPSM11-B2267", index).verdict is Verdict.NO_OCLC
    assert match_oclc("", [nz(NZ_A, "(OCoLC)1")]).verdict is Verdict.NO_OCLC


def test_candidate_differences():
    pool = [
        nz(NZ_A, "(OCoLC)1", encoding_level=" ", extra=(field("300", "a", "310 p."),)),
        nz(NZ_B, "(OCoLC)1", encoding_level="7", extra=(field("300", "a", "312 pages"),)),
    ]
    match = match_bib(iz_bib("(OCoLC)1"), pool)
    assert match.candidate_differences == {"encoding_level"}


def test_to_json_shape():
    bib = iz_bib("(OCoLC)1", "(OCoLC)ocm00000001", cancelled=("(OCoLC)8",), merged=("9",))
    pool = [nz(NZ_A, "(OCoLC)1", holders=("WAU", "ORU")), nz(NZ_B, "(OCoLC)1")]
    data = to_json(match_bib(bib, pool))
    assert set(data) == {"iz", "verdict", "candidates", "recommendation"}
    # level in all but holdings: the one more members hold, and why
    assert data["recommendation"] == {"nz_mms_id": NZ_A, "rule": "more_holdings", "reasons": [
        "Candidate 1 is held by 2 member institutions, candidate 2 by 0"]}
    assert to_json(match_bib(bib, pool), rules=())["recommendation"] is None
    assert data["verdict"] == "multi"
    assert data["iz"]["mms_id"] == "9949620601852"
    assert data["iz"]["title"] == "A title"
    assert data["iz"]["oclc_numbers"] == ["1"]
    assert data["iz"]["cancelled_oclc_numbers"] == ["8", "9"]
    assert data["iz"]["linked_nz_mms_id"] is None
    first = data["candidates"][0]
    assert {"mms_id", "title", "oclc_numbers", "edition", "publication", "extent",
            "encoding_level", "holding_institutions", "is_serial"} <= set(first)
    assert first["mms_id"] == NZ_A
    assert first["holding_institutions"] == ["WAU", "ORU"]
    assert json.loads(json.dumps(data)) == data


def test_to_json_for_a_typed_number_and_for_linked():
    assert to_json(match_oclc("5", []))["iz"] is None
    assert to_json(match_oclc("5", [])) == {"iz": None, "verdict": "none", "candidates": [], "recommendation": None}
    linked = to_json(match_bib(iz_bib("(OCoLC)1", linked=NZ_A), []))
    assert linked["verdict"] == "linked"
    assert linked["iz"]["linked_nz_mms_id"] == NZ_A


def test_match_is_frozen():
    match = match_bib(iz_bib("(OCoLC)1"), [])
    assert isinstance(match, Match)
    with pytest.raises(FrozenInstanceError):
        match.verdict = Verdict.MULTI
