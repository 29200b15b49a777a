"""MARCXML in and out, with pymarc. Alma sends MARCXML without a namespace inside JSON."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pymarc
from pymarc import Record

# Real Alma opens every `anies` MARCXML string with <?xml version="1.0" encoding="UTF-16"?>
# (docs/alma.md, "How real Alma answers"). The string is already text: the declaration
# names the encoding Alma's serialiser had in mind, not the bytes we hold, so it is dropped
# and the text parsed as what it is.
_XML_DECLARATION = re.compile(r"\A\s*<\?xml\b[^>]*\?>")
# Characters XML 1.0 forbids (C0 controls other than tab, newline, carriage return), raw or
# as character references: a record carrying one cannot be parsed, nor PUT back to Alma.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FORBIDDEN_REFERENCE = re.compile(r"&#(?:x0*(?:[0-8bcefBCEF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));")


class UnreadableRecord(ValueError):
    """A MARCXML record that cannot be parsed: broken XML or characters XML forbids."""


def without_declaration(xml: str) -> str:
    """The XML text without its <?xml ...?> declaration (whatever encoding it names)."""
    return _XML_DECLARATION.sub("", xml, count=1)


def record_from_xml(xml: str) -> Record:
    """Parses one MARCXML record, with or without the MARC21 slim namespace and the XML
    declaration. Raises UnreadableRecord, saying why, when it cannot be parsed."""
    text = without_declaration(xml)
    try:
        # Parsed from text, so no declared encoding is ever consulted.
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UnreadableRecord(f"the MARCXML is not well-formed XML ({exc})") from None
    element = root if _local_name(root.tag) == "record" else next(
        (e for e in root.iter() if _local_name(e.tag) == "record"), None)
    if element is None:
        raise UnreadableRecord("no MARC record in the XML")
    return record_from_element(element)


def strip_forbidden_characters(text: str) -> str:
    """`text` without the control characters XML 1.0 forbids (raw or as &#N; references)."""
    return _FORBIDDEN_REFERENCE.sub("", _FORBIDDEN.sub("", text))


def record_to_xml(record: Record) -> str:
    """MARCXML without a namespace, the form Alma takes inside a <bib>. Control characters
    XML forbids are dropped: Alma would refuse the whole body for one of them."""
    return strip_forbidden_characters(pymarc.record_to_xml(record, namespace=False).decode("utf-8"))


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
