import json

import pytest

from alma.cards import (
    Publication,
    RecordCard,
    card_from_record,
    differences,
    encoding_level_name,
    record_format_name,
    same_extent,
    trim_isbd,
)
from tests.alma.marc_builders import bib_record, field


def full_record(**kwargs):
    """A book record with every field a card reads."""
    extra = (
        field("040", "a", "DLC", "b", "eng", "e", "rda", "c", "DLC"),
        field("250", "a", "2nd edition."),
        field("264", "a", "London :", "b", "Verso,", "c", "[2004]", ind2="1"),
        field("264", "c", "©2003", ind2="4"),
        field("300", "a", "xii, 310 pages :", "b", "illustrations ;", "c", "24 cm"),
        field("336", "a", "text", "b", "txt", "2", "rdacontent"),
        field("337", "a", "unmediated", "b", "n"),
        field("338", "a", "volume", "b", "nc"),
    )
    kwargs.setdefault("extra", extra)
    return bib_record(
        mms_id="99160483400001451",
        oclc=("(OCoLC)52467191",),
        cancelled=("(OCoLC)ocm00001111",),
        merged=("2222",),
        holders=("WAU", "ORU", "WAU", "OCU"),
        **kwargs,
    )


def test_card_reads_every_field():
    record = full_record(title="The cat :")
    record["245"].add_subfield("b", "a life /")
    record["245"].add_subfield("c", "by Someone.")  # $c is not part of the title
    card = card_from_record("99160483400001451", record)
    assert card.mms_id == "99160483400001451"
    assert card.title == "The cat : a life"
    assert card.edition == "2nd edition"
    assert card.publication == Publication("London", "Verso", "[2004]")
    assert card.extent == "xii, 310 pages"
    assert (card.content_type, card.media_type, card.carrier_type) == (
        "text",
        "unmediated",
        "volume",
    )
    assert card.cataloging_language == "eng"
    assert card.record_format == "am"
    assert card.record_format_name == "Book"
    assert card.encoding_level == " "
    assert card.encoding_level_name == "Full"
    assert card.oclc_numbers == ("52467191", "1111", "2222")
    assert card.cancelled_oclc_numbers == ("1111", "2222")
    assert card.holding_institutions == ("WAU", "ORU", "OCU")
    assert card.holding_count == 3
    assert card.is_serial is False


def test_title_takes_n_and_p_and_trims_trailing_punctuation():
    record = bib_record(title="Annual report.")
    record["245"].add_subfield("n", "Part 2,")
    record["245"].add_subfield("p", "Appendices ;")
    assert card_from_record("1", record).title == "Annual report. Part 2, Appendices"


def test_publication_falls_back_to_260():
    record = bib_record(extra=(field("260", "a", "New York :", "b", "Norton,", "c", "1999."),))
    card = card_from_record("1", record)
    assert card.publication == Publication("New York", "Norton", "1999")
    assert str(card.publication) == "New York : Norton, 1999"


def test_264_publication_is_preferred_over_260_and_over_other_264s():
    record = bib_record(
        extra=(
            field("264", "a", "Paris :", "b", "Printer,", "c", "2001", ind2="3"),
            field("260", "a", "New York :", "b", "Norton,", "c", "1999."),
            field("264", "a", "Boston :", "b", "Beacon,", "c", "2001.", ind2="1"),
        )
    )
    assert card_from_record("1", record).publication == Publication("Boston", "Beacon", "2001")


def test_copyright_only_264_is_not_a_publication():
    record = bib_record(extra=(field("264", "c", "©2003", ind2="4"),))
    publication = card_from_record("1", record).publication
    assert publication == Publication()
    assert not publication and str(publication) == ""
    assert Publication(date="2004")


def test_repeated_publishers_are_kept():
    record = bib_record(
        extra=(field("264", "a", "Oxford ;", "a", "New York :", "b", "OUP,", "c", "2010", ind2="1"),)
    )
    assert card_from_record("1", record).publication.place == "Oxford; New York"


def test_serial_card():
    card = card_from_record("1", bib_record(record_format="as"))
    assert card.is_serial is True
    assert card.record_format_name == "Serial"
    assert card_from_record("1", bib_record(record_format="ai")).is_serial is True
    assert card_from_record("1", bib_record(record_format="ab")).is_serial is False


@pytest.mark.parametrize(
    "code, name",
    [
        (" ", "Full"),
        ("7", "Minimal"),
        ("8", "Prepublication (CIP)"),
        ("I", "Full (OCLC member)"),
        ("K", "Less-than-full (OCLC member)"),
        ("M", "Less-than-full (OCLC batch load)"),
        ("3", "Abbreviated"),
        ("Q", "Unknown"),
    ],
)
def test_encoding_levels(code, name):
    card = card_from_record("1", bib_record(encoding_level=code))
    assert card.encoding_level == code
    assert card.encoding_level_name == name
    assert encoding_level_name(code) == name


@pytest.mark.parametrize(
    "code, name",
    [
        ("am", "Book"),
        ("as", "Serial"),
        ("ai", "Integrating resource"),
        ("gm", "Video"),
        ("jm", "Music recording"),
        ("ms", "Computer file (serial)"),
        ("em", "Map"),
        ("xx", "Unknown"),
    ],
)
def test_record_format_names(code, name):
    assert record_format_name(code) == name


def test_repeated_336_values_are_joined_once_each():
    record = bib_record(
        extra=(field("336", "a", "text"), field("336", "a", "still image"), field("336", "a", "text"))
    )
    assert card_from_record("1", record).content_type == "text; still image"


def test_missing_fields_give_empty_values():
    card = card_from_record("1", bib_record())
    assert card.edition == ""
    assert card.extent == ""
    assert card.cataloging_language == ""
    assert card.holding_institutions == ()
    assert card.holding_count == 0


def test_trim_isbd():
    assert trim_isbd("Title : ") == "Title"
    assert trim_isbd("Title /") == "Title"
    assert trim_isbd("  Many   spaces ;") == "Many spaces"
    assert trim_isbd("Ends with =") == "Ends with"


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("xii, 310 p.", "312 pages", True),
        ("310 pages", "341 pages", True),  # 31 is within 10% of 341
        ("310 pages", "350 pages", False),
        ("1 online resource (310 pages)", "xii, 300 p.", True),
        ("2 v.", "2 volumes", True),
        ("2 v.", "3 v.", False),
        ("", "", True),
        ("1 score", "", False),
        ("unpaged", "Unpaged", True),
        ("unpaged", "48 pages", False),
    ],
)
def test_extent_within_ten_percent_is_the_same(a, b, same):
    assert same_extent(a, b) is same


def card(**kwargs):
    defaults = dict(mms_id="1", title="The cat", extent="310 p.", record_format="am")
    defaults.update(kwargs)
    return RecordCard(**defaults)


def test_no_differences_between_like_cards():
    assert differences([card(mms_id="1"), card(mms_id="2", title="The Cat.", extent="312 pages")]) == set()
    assert differences([card()]) == set()
    assert differences([]) == set()


def test_differences_name_the_fields():
    cards = [
        card(mms_id="1", encoding_level=" ", cataloging_language="eng", oclc_numbers=("1",)),
        card(mms_id="2", encoding_level="7", cataloging_language="spa", oclc_numbers=("1", "2")),
    ]
    assert differences(cards) == {"encoding_level", "cataloging_language", "oclc_numbers", "current_oclc_numbers"}


def test_extent_difference_is_found_between_any_pair():
    cards = [card(extent="300 p."), card(extent="320 p."), card(extent="340 p.")]
    # 300 vs 320 and 320 vs 340 are close, but 300 vs 340 is not.
    assert differences(cards) == {"extent"}


def test_publication_and_holders_and_format_differences():
    cards = [
        card(publication=Publication("London", "Verso", "2004"), holding_institutions=("WAU",)),
        card(
            publication=Publication("London", "Verso", "2005"),
            holding_institutions=("WAU", "ORU"),
            record_format="as",
            is_serial=True,
        ),
    ]
    assert differences(cards) == {"publication", "holding_institutions", "record_format", "is_serial"}


def test_as_dict_is_plain_json():
    data = card_from_record("99160483400001451", full_record()).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["publication"] == {
        "place": "London",
        "publisher": "Verso",
        "date": "[2004]",
        "text": "London : Verso, [2004]",
    }
    assert data["oclc_numbers"] == ["52467191", "1111", "2222"]
    assert data["holding_count"] == 3
    assert data["record_format_name"] == "Book"
    assert data["encoding_level_name"] == "Full"
    assert data["is_serial"] is False


def test_from_dict_is_the_inverse_of_as_dict():
    original = card_from_record("99160483400001451", full_record())
    assert original.oclc_numbers and original.holding_institutions  # a full card
    data = json.loads(json.dumps(original.as_dict()))  # as stored: lists, not tuples
    assert RecordCard.from_dict(data) == original
    assert RecordCard.from_dict(data).as_dict() == data


def test_from_dict_ignores_derived_and_unknown_keys_and_fills_defaults():
    data = {
        "mms_id": "991",
        "title": "T",
        "holding_count": 99,  # derived: the real count comes from the institutions
        "record_format_name": "Nonsense",
        "publication": {"place": "London", "text": "ignored"},
        "surprise": 1,
        "edition": None,
    }
    card = RecordCard.from_dict(data)
    assert card == RecordCard(mms_id="991", title="T", publication=Publication(place="London"))
    assert card.holding_count == 0
    assert RecordCard.from_dict({"mms_id": "992"}) == RecordCard("992")


def test_local_looking_fields_without_9_local_are_the_ones_linking_would_lose():
    """A local extension is a 09X, 59X, 69X, 77X, 78X or 9XX field carrying $9 LOCAL (in
    either case); the others of those tags are replaced when the record links."""
    from pymarc import Field, Record, Subfield

    from alma.cards import unprotected_local_fields

    record = Record()
    record.add_field(Field(tag="001", data="99123"))
    for tag, nine in (("245", None), ("590", None), ("591", "LOCAL"), ("650", None), ("690", "local"),
                      ("776", None), ("949", None), ("949", None), ("999", "LOCAL "), ("099", None)):
        subfields = [Subfield("a", "x")] + ([Subfield("9", nine)] if nine else [])
        record.add_field(Field(tag=tag, indicators=[" ", " "], subfields=subfields))
    assert unprotected_local_fields(record) == ("590", "776", "949", "099")
