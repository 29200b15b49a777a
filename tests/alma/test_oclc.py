import pytest

from alma.oclc import (
    OclcNumbers,
    normalize_merged_oclc,
    normalize_oclc,
    oclc_numbers,
    parse_typed_oclc,
)
from tests.alma.marc_builders import bib_record


@pytest.mark.parametrize(
    "value, expected",
    [
        ("(OCoLC)52467191", "52467191"),
        ("(OCoLC)ocm00012345", "12345"),
        ("(OCoLC)ocm52467191", "52467191"),
        ("(OCoLC)ocn123456789", "123456789"),
        ("(OCoLC)on1234567890", "1234567890"),
        ("(OCoLC)on12345678901", "12345678901"),  # on + 11 digits
        ("(OCoLC)ocm52467191 ", "52467191"),  # trailing space, seen in real records
        ("  (OCoLC)00052467191\t", "52467191"),
        ("(OCoLC) 52467191", "52467191"),  # a space after the prefix
        ("(OCOLC)52467191", "52467191"),  # prefix case differs in migrated data
    ],
)
def test_ocn_forms_come_out_as_bare_digits(value, expected):
    assert normalize_oclc(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "(OCoLC-M)52467191",
        "(OCoLC-I)52467191",
        "(OCoLC)TGPSM11-B2267",  # letters after the prefix: not an OCN
        "(OCoLC)ocmDCLC6114599B",
        "(OCoLC)ocm5246719B",
        "(OCoLC)52467191x",
        "52467191",  # bare number: no prefix, not an OCN in a 035
        "ocm52467191",
        "(DLC)52467191",
        "",
        "   ",
        None,
        "(OCoLC)",
        "(OCoLC)00000000",
        "(OCoLC)ocm00000000",
        "(OCoLC)5246 7191",
    ],
)
def test_things_that_are_not_ocns(value):
    assert normalize_oclc(value) is None


def test_digit_counts_are_lenient_for_old_letter_forms():
    # Decision: ocm with 7 or 9 digits is still read, the digits are the number.
    assert normalize_oclc("(OCoLC)ocm1234567") == "1234567"
    assert normalize_oclc("(OCoLC)ocn12345") == "12345"


def test_019_numbers_have_no_prefix():
    assert normalize_merged_oclc("000123") == "123"
    assert normalize_merged_oclc("ocm00012345") == "12345"
    assert normalize_merged_oclc("12AB") is None
    assert normalize_merged_oclc("0") is None


def test_typed_numbers_accept_bare_digits():
    assert parse_typed_oclc(" 52467191 ") == "52467191"
    assert parse_typed_oclc("ocn052467191") == "52467191"
    assert parse_typed_oclc("(OCoLC)ocm52467191") == "52467191"
    assert parse_typed_oclc("TGPSM11") is None
    assert parse_typed_oclc("") is None


def test_record_numbers_by_kind_and_duplicates_collapse():
    record = bib_record(
        oclc=("(OCoLC)52467191", "(OCoLC)ocm52467191 ", "(OCoLC-M)999", "52467191", "(OCoLC)77"),
        cancelled=("(OCoLC)ocm00001111", "(OCoLC)1111"),
        merged=("2222", "0003333"),
    )
    numbers = oclc_numbers(record)
    assert numbers.active == ("52467191", "77")
    assert numbers.cancelled == ("1111",)
    assert numbers.merged == ("2222", "3333")
    assert numbers.all == ("52467191", "77", "1111", "2222", "3333")


def test_all_removes_a_number_both_active_and_cancelled():
    numbers = OclcNumbers(active=("1", "2"), cancelled=("2", "3"), merged=("1", "4"))
    assert numbers.all == ("1", "2", "3", "4")
    assert numbers.not_active == ("3", "4")


def test_record_without_ocns():
    numbers = oclc_numbers(bib_record(oclc=("(OCoLC)TGPSM11-B2267",)))
    assert numbers.active == ()
    assert numbers.all == ()
    assert oclc_numbers(None) == OclcNumbers()


def test_several_a_subfields_in_one_035_are_all_read():
    from tests.alma.marc_builders import field

    record = bib_record(extra=(field("035", "a", "(OCoLC)5", "a", "(OCoLC)6", "z", "(OCoLC)7"),))
    numbers = oclc_numbers(record)
    assert numbers.active == ("5", "6")
    assert numbers.cancelled == ("7",)
