"""State helpers (merge_nz, links) and the seed data generators."""

from __future__ import annotations

from collections import Counter

import pytest

from alma.simulator import seed
from alma.simulator.jobs import link_one
from alma.simulator.marc import Marc, ocn_in_035


def test_ocn_rules():
    assert ocn_in_035("(OCoLC)ocm00012345") == "12345"
    assert ocn_in_035("(OCoLC)ocn123456789") == "123456789"
    assert ocn_in_035("(OCoLC)on1234567890") == "1234567890"
    assert ocn_in_035("(OCoLC)52467191 ") == "52467191"
    for not_an_ocn in ("(OCoLC)TGPSM11-B2267", "(OCoLC)ocmDCLC6114599B", "(OCoLC-M)12345678",
                       "(OCoLC-I)12345678", "12345678", "(OCoLC)000"):
        assert ocn_in_035(not_an_ocn) is None, not_an_ocn


def test_sample_cases_are_all_present():
    state = seed.sample_state()
    for name in ("unique", "multi", "no_match", "no_oclc", "already_linked", "serial_unique",
                 "serial_multi", "cancelled_in_iz", "cancelled_in_nz", "ocm_form", "ocn_form",
                 "on_form", "same_ocn_twice", "nz_several_ocns", "not_ocn_tgpsm",
                 "not_ocn_ocm_letters", "not_ocn_ocolc_m", "not_ocn_ocolc_i", "not_ocn_bare"):
        assert state.iz[seed.CASES[name]].case == name
    assert state.iz[seed.CASES["serial_multi"]].marc.is_serial
    assert "(OCoLC-M)12345678" in state.iz[seed.CASES["not_ocn_ocolc_m"]].marc.values_035("a")


def test_merge_nz_resolves_a_multi_match():
    state = seed.sample_state()
    keep, drop = seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]
    params = {"set_id": ""}
    assert link_one(state, seed.CASES["multi"], params) == "link_bib_to_nz.multi_match"
    # an IZ record linked to the duplicate that goes away
    other = state.add_iz(state.iz[seed.CASES["unique"]].marc, linked_nz_id=drop)
    # give the duplicate a cancelled number of its own, to see it carried over
    xml = state.nz[drop].marc.xml.replace(
        "(OCoLC)61111111</subfield>", '(OCoLC)61111111</subfield><subfield code="z">(OCoLC)600</subfield>'
    )
    state.set_nz_marc(drop, Marc.from_xml(xml))
    state.merge_nz(keep, [drop])
    assert drop not in state.nz
    assert state.linked_nz_id_of(other.mms_id) == keep  # relinked
    kept_035 = state.nz[keep].marc.ids_035
    assert ("z", "(OCoLC)600") in kept_035  # the dropped record's numbers move to $z
    assert state.nz_ids_by_ocn("600") == [keep]
    assert link_one(state, seed.CASES["multi"], params) == "link_bib_to_nz.linked"
    assert state.linked_nz_id_of(seed.CASES["multi"]) == keep
    holders = [f["a"] for f in state.nz[keep].marc.record().get_fields("852")]
    assert seed.OTHER_MEMBERS[3] in holders  # the dropped record's holding moved over


def test_generator_counts_and_determinism():
    mix = {"unique": 0.5, "multi": 0.2, "none": 0.1, "no_oclc": 0.1, "linked": 0.1}
    state = seed.generate_state(1000, mix=mix, seed=7)
    counts = Counter(b.case for b in state.iz.values())
    assert counts == {"unique": 500, "multi": 200, "none": 100, "no_oclc": 100, "linked": 100}
    assert len(state.nz) == 500 + 2 * 200 + 100
    assert sum(1 for b in state.iz.values() if b.linked_nz_id) == 100
    (the_set,) = [s for s in state.sets.values() if s.name == seed.GENERATED_SET_NAME]
    assert len(the_set.members) == 1000
    again = seed.generate_state(1000, mix=mix, seed=7)
    assert [b.case for b in again.iz.values()] == [b.case for b in state.iz.values()]
    other = seed.generate_state(1000, mix=mix, seed=8)
    assert [b.case for b in other.iz.values()] != [b.case for b in state.iz.values()]
    # generated records behave like the rest: outcome per case
    outcomes = Counter(link_one(state, b.mms_id, {}) for b in list(state.iz.values())[:200])
    cases = Counter(b.case for b in list(state.iz.values())[:200])
    assert outcomes["link_bib_to_nz.multi_match"] == cases["multi"]
    assert outcomes["link_bib_to_nz.already_linked"] == cases["linked"]
    assert outcomes["link_bib_to_nz.skipped"] == cases["none"] + cases["no_oclc"]
    rec = next(iter(state.iz.values())).marc.record()  # lazily rendered MARC parses
    assert rec["245"]["a"] and rec["001"].data


@pytest.mark.slow
def test_generator_builds_100000():
    # was: also asserted it took under 15 s; its build time is bench/preview.py's to print
    state = seed.generate_state(100_000)
    assert len(state.iz) == 100_000
    counts = Counter(b.case for b in state.iz.values())
    assert counts == {"unique": 70_000, "multi": 8_000, "none": 12_000, "no_oclc": 5_000, "linked": 5_000}
    assert len(state.nz) == 70_000 + 2 * 8_000 + 5_000  # a multi-match has two NZ records
    assert sum(1 for b in state.iz.values() if b.linked_nz_id) == 5_000
    (the_set,) = [s for s in state.sets.values() if s.name == seed.GENERATED_SET_NAME]
    assert len(the_set.members) == len(set(the_set.members)) == 100_000
    assert set(the_set.members) == set(state.iz)
    by_case = {}
    for bib in state.iz.values():
        by_case.setdefault(bib.case, bib)
    number = lambda bib: next(ocn_in_035(v) for v in bib.marc.values_035("a") if ocn_in_035(v))  # noqa: E731
    assert len(state.nz_ids_by_ocn(number(by_case["multi"]))) == 2
    assert len(state.nz_ids_by_ocn(number(by_case["unique"]))) == 1
    assert state.nz_ids_by_ocn(number(by_case["none"])) == []
    assert not any(ocn_in_035(v) for v in by_case["no_oclc"].marc.values_035("a"))
