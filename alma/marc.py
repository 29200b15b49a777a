"""MARCXML in and out, with pymarc. Alma sends MARCXML without a namespace inside JSON."""

from __future__ import annotations

import io

import pymarc
from pymarc import Record


def record_from_xml(xml: str) -> Record:
    """Parses one MARCXML record, with or without the MARC21 slim namespace."""
    records = pymarc.parse_xml_to_array(io.BytesIO(xml.encode("utf-8")), strict=False)
    if not records:
        raise ValueError("no MARC record in the XML")
    return records[0]


def record_to_xml(record: Record) -> str:
    """MARCXML without a namespace, the form Alma takes inside a <bib>."""
    return pymarc.record_to_xml(record, namespace=False).decode("utf-8")


def control_number(record: Record) -> str | None:
    """The record's 001, which in Alma is its MMS ID; None when it has none (or a blank one)."""
    field = record.get("001")
    if field is None:
        return None
    return (field.data or "").strip() or None


def record_from_element(element) -> Record:
    """Builds a pymarc Record from an ElementTree MARCXML <record> (any namespace).

    SRU answers arrive as parsed XML already; building the Record from the tree avoids
    serialising and parsing every record a second time.
    """
    record = Record()
    for child in element:
        tag = _local_name(child.tag)
        if tag == "leader":
            record.leader = pymarc.Leader(child.text or "")
        elif tag == "controlfield":
            record.add_field(pymarc.Field(tag=child.get("tag", ""), data=child.text or ""))
        elif tag == "datafield":
            subfields = [
                pymarc.Subfield(code=sub.get("code", ""), value=sub.text or "")
                for sub in child
                if _local_name(sub.tag) == "subfield"
            ]
            record.add_field(
                pymarc.Field(
                    tag=child.get("tag", ""),
                    indicators=pymarc.Indicators(child.get("ind1", " "), child.get("ind2", " ")),
                    subfields=subfields,
                )
            )
    return record


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
