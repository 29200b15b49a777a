"""MARC storage and the simulator's own OCLC-number rules.

Records are stored as compact MARCXML strings (no namespace, as Alma puts them in `anies`)
because a 100,000-record catalogue of pymarc objects is slow to build and heavy to hold.
Generated records go further and keep only a recipe until someone reads them.
The few things the simulator looks at often (leader, title, 035s) are cached beside the XML.

This module is deliberately independent of alma.oclc / alma.matching: the simulator is the
second implementation the client's matcher is checked against.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable

import pymarc
from pymarc import Field, Record, Subfield

MARC_NS = "http://www.loc.gov/MARC21/slim"

# An OCLC number in 035: "(OCoLC)" then optionally ocm/ocn/on, then digits only.
# Anything else after the prefix (TGPSM11-B2267, ocmDCLC6114599B) is not an OCN.
_PREFIXED_OCN = re.compile(r"^\(OCoLC\)\s*(?:ocm|ocn|on)?(\d+)\s*$")
# A search term may also come without the prefix ("456" or "ocm00000456").
_SEARCH_OCN = re.compile(r"^(?:\(OCoLC\))?\s*(?:ocm|ocn|on)?(\d+)\s*$")


def ocn_in_035(value: str) -> str | None:
    """The normalised OCN carried by one 035 $a/$z value, or None if it holds none."""
    m = _PREFIXED_OCN.match(value.strip())
    if not m:
        return None
    digits = m.group(1).lstrip("0")
    return digits or None


def ocn_in_search_term(term: str) -> str | None:
    """The normalised OCN of an SRU search term; the (OCoLC) prefix is optional there."""
    m = _SEARCH_OCN.match(term.strip())
    if not m:
        return None
    return m.group(1).lstrip("0") or None


# Local extensions kept on the IZ side of a linked record (docs/alma.md, "Linking to the NZ").
_LOCAL_TAG = re.compile(r"^(09.|59.|69.|77.|78.|9..)$")


def is_local_field(field: Field) -> bool:
    if _LOCAL_TAG.match(field.tag):
        return True
    if field.is_control_field():
        return False
    return any(sf.code == "9" and sf.value.strip().upper() == "LOCAL" for sf in field.subfields)


def record_to_string(record: Record) -> str:
    return pymarc.record_to_xml(record).decode("utf-8")


def record_from_string(xml: str) -> Record:
    """The first MARC record of a MARCXML string (a <record>, or a <collection> of them,
    with or without the MARC namespace). Read with ElementTree, not pymarc's SAX reader:
    the simulator reads every linked record it serves (the NZ's and the IZ's), and the SAX
    reader was most of its CPU in bench/consortium.py, slowing "Alma" under the bot."""
    # A declaration (Alma's anies carry one naming UTF-16) says nothing about a str's bytes.
    xml = re.sub(r"\A\s*<\?xml\b[^>]*\?>", "", xml, count=1)
    root = ET.fromstring(xml)
    found = root if _local(root.tag) == "record" else next(
        (e for e in root if _local(e.tag) == "record"), None)
    if found is None:
        raise ValueError("no MARC record in the XML")
    record = Record()
    for element in found:
        kind = _local(element.tag)
        if kind == "leader":
            record.leader = element.text or ""
        elif kind == "controlfield":
            record.add_field(Field(tag=element.get("tag", ""), data=element.text or ""))
        elif kind == "datafield":
            record.add_field(Field(
                tag=element.get("tag", ""),
                indicators=[element.get("ind1") or " ", element.get("ind2") or " "],
                subfields=[Subfield(sub.get("code", ""), sub.text or "") for sub in element
                           if _local(sub.tag) == "subfield"]))
    return record


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def with_namespace(xml: str) -> str:
    """Our stored records have no namespace; SRU's recordData wants MARC21 slim."""
    return xml.replace("<record>", f'<record xmlns="{MARC_NS}">', 1)


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def record_element_to_string(elem: ET.Element) -> str:
    """Re-serialise a parsed <record> element (any namespace) as our canonical string."""
    for e in elem.iter():
        e.tag = _strip_ns(e.tag)
    return record_to_string(record_from_string(ET.tostring(elem, encoding="unicode")))


@dataclass(slots=True)
class Marc:
    """One stored MARC record plus the bits of it the simulator reads all the time."""

    leader: str
    title: str
    author: str
    ids_035: tuple[tuple[str, str], ...]  # (subfield code, value) for each 035 $a/$z, in order
    _xml: str | None = None
    _render: Callable[[], str] | None = None  # lazily builds the XML of a generated record

    @property
    def xml(self) -> str:
        if self._xml is not None:
            return self._xml
        assert self._render is not None
        return self._render()  # not cached: keeps a 100,000-record catalogue small

    @property
    def is_serial(self) -> bool:
        return len(self.leader) > 7 and self.leader[7] == "s"

    def record(self) -> Record:
        return record_from_string(self.xml)

    @property
    def readable(self) -> bool:
        """Whether the stored XML parses: a test may store MARC no XML parser reads (a
        control character, cut short). Generated records are always built well-formed."""
        if self._xml is None:
            return True
        try:
            ET.fromstring(self._xml)
        except ET.ParseError:
            return False
        return True

    def values_035(self, code: str) -> list[str]:
        return [v for c, v in self.ids_035 if c == code]

    @classmethod
    def from_record(cls, record: Record) -> "Marc":
        return cls(
            leader=str(record.leader),
            title=title_of(record),
            author=author_of(record),
            ids_035=tuple(
                (sf.code, sf.value)
                for f in record.get_fields("035")
                for sf in f.subfields
                if sf.code in ("a", "z")
            ),
            _xml=record_to_string(record),
        )

    @classmethod
    def from_xml(cls, xml: str) -> "Marc":
        return cls.from_record(record_from_string(xml))

    @classmethod
    def lazy(
        cls,
        render: Callable[[], str],
        *,
        leader: str,
        title: str,
        author: str,
        ids_035: tuple[tuple[str, str], ...],
    ) -> "Marc":
        return cls(leader=leader, title=title, author=author, ids_035=ids_035, _render=render)


def title_of(record: Record) -> str:
    f = record.get("245")
    if f is None:
        return ""
    return " ".join(sf.value for sf in f.subfields if sf.code in "abnp").strip()


def author_of(record: Record) -> str:
    for tag in ("100", "110", "111"):
        f = record.get(tag)
        if f is not None:
            return " ".join(f.get_subfields("a")).strip()
    return ""


def linked_view(iz: Marc, nz: Marc, iz_mms_id: str, nz_mms_id: str, network_code: str) -> Marc:
    """What Alma shows for a linked IZ record: the NZ's MARC plus the IZ's local fields.

    Member holdings (852 on NZ records) are not part of the bib the institution sees.
    """
    leader, shared = _nz_part(nz.xml)
    iz_rec = iz.record()
    out = Record(leader=leader)
    out.add_field(Field(tag="001", data=iz_mms_id))
    for f in shared:
        out.add_ordered_field(f)
    out.add_ordered_field(
        Field(
            tag="035",
            indicators=[" ", " "],
            subfields=[Subfield("a", f"(EXLNZ-{network_code}){nz_mms_id}")],
        )
    )
    for f in iz_rec.get_fields():
        if is_local_field(f):
            out.add_ordered_field(f)
    return Marc.from_record(out)


@lru_cache(maxsize=2048)
def _nz_part(nz_xml: str) -> tuple[str, tuple[Field, ...]]:
    """An NZ record's leader and the fields every IZ record linked to it shows, read once
    for all of them (a consortium's members link to the same NZ records). The fields are
    only ever copied into a view and written out, never changed."""
    record = record_from_string(nz_xml)
    return str(record.leader), tuple(f for f in record.get_fields()
                                     if f.tag not in ("001", "852") and not is_local_field(f))


def replace_local_fields(stored: Marc, incoming: Record) -> Marc:
    """PUT on a linked record: only local fields change; the rest stays as stored."""
    rec = stored.record()
    out = Record(leader=str(rec.leader))
    for f in rec.get_fields():
        if not is_local_field(f):
            out.add_field(f)
    for f in incoming.get_fields():
        if is_local_field(f):
            out.add_ordered_field(f)
    return Marc.from_record(out)


def datafield(tag: str, ind: str, *pairs: str) -> Field:
    """datafield("245", "10", "a", "Title :", "b", "subtitle.") -- short form for seed data."""
    it = iter(pairs)
    return Field(
        tag=tag,
        indicators=[ind[0], ind[1]],
        subfields=[Subfield(code, value) for code, value in zip(it, it)],
    )


def build_record(leader: str, control: dict[str, str], fields: Iterable[Field]) -> Record:
    rec = Record(leader=leader)
    for tag, data in control.items():
        rec.add_field(Field(tag=tag, data=data))
    for f in fields:
        rec.add_ordered_field(f)
    return rec
