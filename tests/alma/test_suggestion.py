"""The suggested pick: each rule on its own, their order, the tie, and the configuration."""

from __future__ import annotations

import pytest

from alma.cards import card_from_record, compare
from alma.suggestion import DEFAULT_RULES, Rule, encoding_rank, parse_rules, recommend
from tests.alma.marc_builders import bib_record, field

PRINT = (field("337", "a", "unmediated", "b", "n"), field("338", "a", "volume", "b", "nc"))
ONLINE = (field("337", "a", "computer", "b", "c"), field("338", "a", "online resource", "b", "cr"))


def card(mms_id: str, *, language: str = "eng", carrier=PRINT, level: str = " ", oclc=("(OCoLC)61111111",),
         cancelled=(), merged=(), holders=("ORU",), record_format: str = "am"):
    extra = (field("040", "a", "ORU", "b", language, "e", "rda"), *carrier)
    return card_from_record(mms_id, bib_record(mms_id, "Birds of the Pacific Northwest", oclc=oclc,
                                               cancelled=cancelled, merged=merged, holders=holders,
                                               record_format=record_format, encoding_level=level, extra=extra))


IZ = card("991")


def test_same_kind_puts_the_print_record_before_the_e_book():
    found = recommend(IZ, [card("1", carrier=ONLINE, holders=("A", "B", "C")), card("2")])
    assert found.suggestion.nz_mms_id == "2" and found.suggestion.rule == Rule.SAME_KIND
    (reason,) = found.suggestion.reasons
    assert reason == "Candidate 1 is Book, online resource; the IZ record is Book, volume"


def test_same_kind_reads_leader_06_07_too():
    found = recommend(IZ, [card("1", record_format="as"), card("2")])
    assert found.suggestion.position == 2 and found.suggestion.rule == Rule.SAME_KIND


def test_the_carrier_falls_back_to_337_then_008():
    bare_online = card_from_record("1", bib_record("1", "T", extra=(field("337", "b", "c"),)))
    bare_print = card_from_record("2", bib_record("2", "T", extra=(field("337", "b", "n"),)))
    iz = card_from_record("9", bib_record("9", "T", extra=(field("337", "b", "n"),)))
    assert recommend(iz, [bare_online, bare_print]).suggestion.nz_mms_id == "2"
    with_008 = bib_record("3", "T")
    with_008.add_field(__import__("pymarc").Field(tag="008", data="150312s2015    oru" + "     o    000 0 " + " eng d"))
    assert card_from_record("3", with_008).form_of_item == "o" and card_from_record("3", with_008).online


def test_same_language_of_cataloging_keeps_parallel_records_apart():
    found = recommend(IZ, [card("1", language="fre", holders=("A", "B")), card("2")])
    assert found.suggestion.nz_mms_id == "2" and found.suggestion.rule == Rule.SAME_LANGUAGE
    assert found.suggestion.reasons == ("Candidate 1 is cataloged in fre (040 $b), the IZ record in eng",)


def test_absent_040_b_means_english():
    iz = card_from_record("9", bib_record("9", "T"))  # no 040 at all
    found = recommend(iz, [card("1", language="ger"), card("2", language="eng")])
    assert found.suggestion.nz_mms_id == "2"


def test_oclcs_surviving_record_is_suggested_over_the_one_merged_into_it():
    merged_away = card("1", oclc=("(OCoLC)63333333",), holders=("A", "B", "C"))
    survivor = card("2", oclc=("(OCoLC)69999999",), cancelled=("(OCoLC)63333333",))
    found = recommend(IZ, [merged_away, survivor])
    assert found.suggestion.nz_mms_id == "2" and found.suggestion.rule == Rule.OCLC_SURVIVOR
    assert found.suggestion.reasons == ("OCLC merged candidate 1's number 63333333 into candidate 2's",)
    # the 019 says the same as a 035 $z
    by_019 = card("3", oclc=("(OCoLC)69999999",), merged=("63333333",))
    assert recommend(IZ, [merged_away, by_019]).suggestion.nz_mms_id == "3"


@pytest.mark.parametrize("better, worse", [(" ", "4"), ("1", "7"), ("I", "K"), ("L", "M"), ("4", "3"),
                                           ("7", "8"), ("I", "u")])
def test_a_higher_encoding_level_wins(better, worse):
    found = recommend(IZ, [card("1", level=worse, holders=("A", "B")), card("2", level=better)])
    assert found.suggestion.nz_mms_id == "2" and found.suggestion.rule == Rule.ENCODING_LEVEL
    assert encoding_rank(better) > encoding_rank(worse)


def test_levels_in_one_band_are_level():
    assert encoding_rank(" ") == encoding_rank("1") == encoding_rank("I")
    assert encoding_rank("2") == encoding_rank("7") == encoding_rank("K") == encoding_rank("M")


def test_more_holding_members_wins_last():
    found = recommend(IZ, [card("1", holders=("A",)), card("2", holders=("A", "B", "B"))])
    assert found.suggestion.nz_mms_id == "2" and found.suggestion.rule == Rule.MORE_HOLDINGS
    assert found.suggestion.reasons == ("Candidate 2 is held by 2 member institutions, candidate 1 by 1",)


def test_a_later_rule_only_separates_what_the_earlier_left_level():
    # candidate 1 is full but an e-book; 2 is print but minimal: the kind decides first
    found = recommend(IZ, [card("1", carrier=ONLINE), card("2", level="7")])
    assert found.suggestion.nz_mms_id == "2" and found.suggestion.rule == Rule.SAME_KIND


def test_each_other_candidate_gets_the_reason_it_fell_behind():
    cards = [card("1", carrier=ONLINE), card("2", holders=("A", "B")), card("3", level="7", holders=("A", "B"))]
    found = recommend(IZ, cards).suggestion
    assert found.position == 2 and found.rule == Rule.ENCODING_LEVEL  # what set it ahead of the next best
    assert found.reasons[0].startswith("Candidate 1 is Book, online resource")
    assert found.reasons[1] == "Candidate 3's encoding level is Minimal (Leader/17), candidate 2's Full"
    assert found.summary.startswith("Suggested: candidate 2. Candidate 1 is")


def test_true_duplicates_get_no_suggestion():
    found = recommend(IZ, [card("1"), card("2"), card("3", carrier=ONLINE)])
    assert found.suggestion is None and found.level == (1, 2)
    assert found.tie_words.startswith("No suggestion: candidates 1 and 2 look like true duplicates")


def test_a_bare_oclc_number_is_compared_without_an_iz_record():
    found = recommend(None, [card("1", carrier=ONLINE), card("2", level="7")])
    assert found.suggestion.nz_mms_id == "1" and found.suggestion.rule == Rule.ENCODING_LEVEL


def test_one_candidate_or_no_rules_suggests_nothing():
    assert recommend(IZ, [card("1")]).suggestion is None
    off = recommend(IZ, [card("1", level="7"), card("2")], rules=())
    assert off.suggestion is None and off.level == ()


def test_a_consortium_reorders_and_drops_rules():
    cards = [card("1", level="7", holders=("A", "B", "C")), card("2")]
    assert recommend(IZ, cards).suggestion.nz_mms_id == "2"
    reordered = parse_rules("more_holdings, encoding_level")
    assert reordered == (Rule.MORE_HOLDINGS, Rule.ENCODING_LEVEL)
    assert recommend(IZ, cards, reordered).suggestion.nz_mms_id == "1"
    assert parse_rules("") == DEFAULT_RULES and parse_rules(" OFF ") == ()
    with pytest.raises(ValueError, match="unknown rule 'newest'"):
        parse_rules("same_kind,newest")
    with pytest.raises(ValueError, match="twice"):
        parse_rules("same_kind,same_kind")


def test_the_comparison_shows_what_is_the_same_once_and_what_differs_per_candidate():
    cards = [card("1", level="7", holders=("A",)), card("2", holders=("A", "B"))]
    shown = compare(cards)
    same = {s.value for s in shown.same}
    assert "Birds of the Pacific Northwest" in same and "61111111" in same and "ORU rda" in same
    first, second = shown.each
    assert [(s.label, s.value) for s in first] == [("Encoding level (Leader/17)", "Minimal (7)"),
                                                    ("Held by (852)", "1 member institution: A")]
    assert all(s.differs for s in first + second)
    assert [s.value for s in second] == ["Full (blank)", "2 member institutions: A, B"]


def test_the_card_reads_what_catalogers_compare():
    record = bib_record("1", "Birds", oclc=("(OCoLC)1", "(OrU)b2000147x"), cancelled=("(OCoLC)2",), extra=(
        field("100", "a", "Hanford, Margaret,", "d", "1950-", ind1="1"),
        field("245", "c", "by Margaret Hanford."),
        field("020", "a", "9780295984 (paperback)"), field("022", "a", "1477-8920"), field("024", "a", "0123"),
        field("040", "a", "ORU", "b", "eng", "e", "rda", "e", "pn"), *PRINT))
    record.add_field(__import__("pymarc").Field(tag="005", data="20240105120000.0"))
    c = card_from_record("1", record)
    assert c.main_entry == "Hanford, Margaret, 1950-"
    assert c.responsibility == "by Margaret Hanford"
    assert c.standard_numbers == ("ISBN 9780295984", "ISSN 1477-8920", "024 0123")
    assert (c.cataloging_source, c.description_rules) == ("ORU", "rda, pn")
    assert c.last_changed == "2024-01-05"
    assert c.current_oclc_numbers == ("1",) and c.cancelled_oclc_numbers == ("2",)
    assert c.system_numbers == ("(OrU)b2000147x",)
    assert c.kind == "Book, volume" and not c.online
    assert type(c).from_dict(c.as_dict()) == c
