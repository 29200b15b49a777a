"""Small hand-built MARC records for the matching tests."""

from __future__ import annotations

from pymarc import Field, Leader, Record, Subfield


def leader(record_format: str = "am", encoding_level: str = " ") -> Leader:
    """A 24-character leader with Leader/06-07 and Leader/17 set."""
    text = list("00000nam a2200000 i 4500")
    text[6:8] = record_format
    text[17] = encoding_level
    return Leader("".join(text))


def field(tag: str, *pairs: str, ind1: str = " ", ind2: str = " ") -> Field:
    """field("245", "a", "Title :", "b", "subtitle") -> 245 with $a and $b."""
    subfields = [Subfield(code, value) for code, value in zip(pairs[::2], pairs[1::2])]
    return Field(tag=tag, indicators=[ind1, ind2], subfields=subfields)


def bib_record(
    mms_id: str | None = None,
    title: str = "A title",
    oclc: tuple[str, ...] = (),
    cancelled: tuple[str, ...] = (),
    merged: tuple[str, ...] = (),
    holders: tuple[str, ...] = (),
    record_format: str = "am",
    encoding_level: str = " ",
    extra: tuple[Field, ...] = (),
) -> Record:
    """A record with 001 (MMS ID), 035 $a per active OCN, one 035 $z per cancelled one,
    019 $a for merged ones, 245 $a, 852 $a per holder, and any extra fields."""
    record = Record(leader=leader(record_format, encoding_level))
    if mms_id:
        record.add_field(Field(tag="001", data=mms_id))
    if merged:
        record.add_field(field("019", *[x for m in merged for x in ("a", m)]))
    for value in oclc:
        record.add_field(field("035", "a", value))
    for value in cancelled:
        record.add_field(field("035", "z", value))
    record.add_field(field("245", "a", title, ind1="1", ind2="0"))
    for code in holders:
        record.add_field(field("852", "a", code))
    for extra_field in extra:
        record.add_field(extra_field)
    return record
