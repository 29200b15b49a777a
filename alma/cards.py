"""The candidate card: what tells one bib record from another, for choosing between them.

These are the points the Program Manager for Technical Services compares when an IZ record
matches several NZ records (docs/alma.md, "What tells candidate records apart").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Callable

from pymarc import Field, Record

from alma.oclc import oclc_numbers

# ISBD punctuation that ends a MARC subfield and means nothing on its own.
_ISBD_TRAILING = " /:;,.="
# For extent keep the final period: "p." is an abbreviation, not punctuation.
_EXTENT_TRAILING = " /:;,+="

# Leader/06, type of record.
RECORD_TYPES = {
    "a": "Book",
    "t": "Manuscript",
    "c": "Music score",
    "d": "Manuscript music",
    "e": "Map",
    "f": "Manuscript map",
    "g": "Video",
    "i": "Sound recording (nonmusical)",
    "j": "Music recording",
    "k": "Image",
    "m": "Computer file",
    "o": "Kit",
    "p": "Mixed materials",
    "r": "Object",
}

# Leader/07, bibliographic level, where it changes what a cataloger calls the format.
_LANGUAGE_MATERIAL_LEVELS = {
    "s": "Serial",
    "i": "Integrating resource",
    "b": "Serial component part",
    "a": "Component part",
    "c": "Collection",
    "d": "Subunit",
}

SERIAL_LEVELS = frozenset({"s", "i"})

# Leader/17. Blank, 1-8, u, z are MARC 21 levels; letters are OCLC's own (older records).
ENCODING_LEVELS = {
    " ": "Full",
    "1": "Full, material not examined",
    "2": "Less-than-full, material not examined",
    "3": "Abbreviated",
    "4": "Core",
    "5": "Partial (preliminary)",
    "7": "Minimal",
    "8": "Prepublication (CIP)",
    "u": "Unknown",
    "z": "Not applicable",
    "I": "Full (OCLC member)",
    "J": "Deleted (OCLC)",
    "K": "Less-than-full (OCLC member)",
    "L": "Full (OCLC batch load)",
    "M": "Less-than-full (OCLC batch load)",
}


def trim_isbd(text: str, trailing: str = _ISBD_TRAILING) -> str:
    """Drops the ISBD punctuation that ends a MARC subfield ("Title :" -> "Title")."""
    return " ".join(text.split()).rstrip(trailing).strip()


def record_format_name(code: str) -> str:
    """A readable name for Leader/06-07: "am" -> "Book", "as" -> "Serial"."""
    record_type, level = (code + "  ")[:2]
    name = RECORD_TYPES.get(record_type, "Unknown")
    if record_type == "a":
        return _LANGUAGE_MATERIAL_LEVELS.get(level, name)
    if level in SERIAL_LEVELS:
        return f"{name} (serial)" if level == "s" else f"{name} (integrating)"
    return name


def encoding_level_name(code: str) -> str:
    return ENCODING_LEVELS.get(code, "Unknown")


@dataclass(frozen=True)
class Publication:
    place: str = ""
    publisher: str = ""
    date: str = ""

    def __str__(self) -> str:
        """ISBD-style: "New York : Norton, 2004"."""
        text = self.place
        if self.publisher:
            text = f"{text} : {self.publisher}" if text else self.publisher
        if self.date:
            text = f"{text}, {self.date}" if text else self.date
        return text

    def __bool__(self) -> bool:
        """False when the record has no publication statement at all."""
        return bool(self.place or self.publisher or self.date)


@dataclass(frozen=True)
class RecordCard:
    mms_id: str
    title: str = ""
    edition: str = ""
    publication: Publication = field(default_factory=Publication)
    extent: str = ""
    content_type: str = ""
    media_type: str = ""
    carrier_type: str = ""
    cataloging_language: str = ""
    record_format: str = ""  # Leader/06-07, e.g. "am"
    encoding_level: str = ""  # Leader/17, " " is full
    oclc_numbers: tuple[str, ...] = ()  # all: 035 $a, 035 $z, 019 $a
    cancelled_oclc_numbers: tuple[str, ...] = ()  # those from $z and 019 only
    holding_institutions: tuple[str, ...] = ()  # 852 $a member codes
    is_serial: bool = False
    # An IZ record's local-looking fields (09X, 59X, 69X, 77X, 78X, 9XX) without $9 LOCAL:
    # linking replaces the record with the NZ record's content, keeping only local
    # extensions, the fields that carry $9 LOCAL (Ex Libris's knowledge base; CARLI's guide).
    unprotected_local_fields: tuple[str, ...] = ()
    # What catalogers compare besides (issue: decision-ready cases): who and what the record
    # describes, its standard numbers, who catalogued it under which rules, when it changed.
    main_entry: str = ""  # 100/110/111/130
    responsibility: str = ""  # 245 $c
    standard_numbers: tuple[str, ...] = ()  # "ISBN 9780...", "ISSN 1477-8920", "024 ..."
    cataloging_source: str = ""  # 040 $a
    description_rules: str = ""  # 040 $e, e.g. "rda"
    last_changed: str = ""  # 005 as a date, "2024-01-05"
    system_numbers: tuple[str, ...] = ()  # 035 $a of other systems, e.g. "(OrU)b2000147x"
    # The carrier, for "same kind of resource": 338 $b codes, else 337 $b, else 008's form
    # of item (the first the record has; see `carrier_key`).
    carrier_codes: tuple[str, ...] = ()
    media_codes: tuple[str, ...] = ()
    form_of_item: str = ""

    @property
    def current_oclc_numbers(self) -> tuple[str, ...]:
        """The record's own OCLC numbers (035 $a), not those cancelled or merged into it."""
        return tuple(n for n in self.oclc_numbers if n not in self.cancelled_oclc_numbers)

    @property
    def online(self) -> bool:
        """An online resource: 338 cr, 337 c, or 008 form of item o, q or s."""
        return ("cr" in self.carrier_codes or (not self.carrier_codes and "c" in self.media_codes)
                or (not self.carrier_codes and not self.media_codes and self.form_of_item in ONLINE_FORMS))

    @property
    def kind(self) -> str:
        """The kind of resource in words: "Book, online resource", "Serial, volume"."""
        carrier = self.carrier_type or self.media_type or (
            "online" if self.form_of_item in ONLINE_FORMS else "")
        return ", ".join(p for p in (self.record_format_name, carrier) if p)

    @property
    def record_format_name(self) -> str:
        return record_format_name(self.record_format) if self.record_format else ""

    @property
    def encoding_level_name(self) -> str:
        return encoding_level_name(self.encoding_level) if self.encoding_level else ""

    @property
    def holding_count(self) -> int:
        return len(self.holding_institutions)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        return {
            "mms_id": self.mms_id,
            "title": self.title,
            "edition": self.edition,
            "publication": {
                "place": self.publication.place,
                "publisher": self.publication.publisher,
                "date": self.publication.date,
                "text": str(self.publication),
            },
            "extent": self.extent,
            "content_type": self.content_type,
            "media_type": self.media_type,
            "carrier_type": self.carrier_type,
            "cataloging_language": self.cataloging_language,
            "record_format": self.record_format,
            "record_format_name": self.record_format_name,
            "encoding_level": self.encoding_level,
            "encoding_level_name": self.encoding_level_name,
            "oclc_numbers": list(self.oclc_numbers),
            "cancelled_oclc_numbers": list(self.cancelled_oclc_numbers),
            "holding_institutions": list(self.holding_institutions),
            "holding_count": self.holding_count,
            "is_serial": self.is_serial,
            "unprotected_local_fields": list(self.unprotected_local_fields),
            "main_entry": self.main_entry,
            "responsibility": self.responsibility,
            "standard_numbers": list(self.standard_numbers),
            "cataloging_source": self.cataloging_source,
            "description_rules": self.description_rules,
            "last_changed": self.last_changed,
            "system_numbers": list(self.system_numbers),
            "current_oclc_numbers": list(self.current_oclc_numbers),
            "carrier_codes": list(self.carrier_codes),
            "media_codes": list(self.media_codes),
            "form_of_item": self.form_of_item,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RecordCard":
        """The inverse of `as_dict`: derived keys (record_format_name, encoding_level_name,
        holding_count, publication text, current_oclc_numbers, kind) and unknown keys are ignored, missing or null
        ones take the defaults, so cards stored by older versions still read."""

        def text(value: Any) -> str:
            return "" if value is None else str(value)

        def texts(value: Any) -> tuple[str, ...]:
            if value is None:
                return ()
            if isinstance(value, str):
                return (value,)
            return tuple(text(v) for v in value)

        pub = data.get("publication")
        if isinstance(pub, dict):
            publication = Publication(
                place=text(pub.get("place")),
                publisher=text(pub.get("publisher")),
                date=text(pub.get("date")),
            )
        else:
            publication = Publication()
        return cls(
            mms_id=text(data.get("mms_id")),
            title=text(data.get("title")),
            edition=text(data.get("edition")),
            publication=publication,
            extent=text(data.get("extent")),
            content_type=text(data.get("content_type")),
            media_type=text(data.get("media_type")),
            carrier_type=text(data.get("carrier_type")),
            cataloging_language=text(data.get("cataloging_language")),
            record_format=text(data.get("record_format")),
            encoding_level=text(data.get("encoding_level")),
            oclc_numbers=texts(data.get("oclc_numbers")),
            cancelled_oclc_numbers=texts(data.get("cancelled_oclc_numbers")),
            holding_institutions=texts(data.get("holding_institutions")),
            is_serial=bool(data.get("is_serial", False)),
            unprotected_local_fields=texts(data.get("unprotected_local_fields")),
            main_entry=text(data.get("main_entry")),
            responsibility=text(data.get("responsibility")),
            standard_numbers=texts(data.get("standard_numbers")),
            cataloging_source=text(data.get("cataloging_source")),
            description_rules=text(data.get("description_rules")),
            last_changed=text(data.get("last_changed")),
            system_numbers=texts(data.get("system_numbers")),
            carrier_codes=texts(data.get("carrier_codes")),
            media_codes=texts(data.get("media_codes")),
            form_of_item=text(data.get("form_of_item")),
        )


# --- reading a record ---------------------------------------------------------------


def _joined(fields: list[Field], codes: str, trailing: str = _ISBD_TRAILING) -> str:
    """The given subfields of the first field, in record order, joined and trimmed."""
    if not fields:
        return ""
    parts = [sf.value for sf in fields[0].subfields if sf.code in codes and sf.value]
    return trim_isbd(" ".join(parts), trailing)


def _rda_types(record: Record, tag: str) -> str:
    """336/337/338: each field's terms ($a), or its codes ($b) when it carries only codes
    ("txt", "n", "nc"), as many real catalogue records do; joined with "; "."""
    values = []
    for f in record.get_fields(tag):
        values.extend(trim_isbd(v) for v in (f.get_subfields("a") or f.get_subfields("b")))
    return "; ".join(dict.fromkeys(v for v in values if v))


def _subfields_text(field_: Field, code: str) -> str:
    return "; ".join(trim_isbd(v) for v in field_.get_subfields(code) if trim_isbd(v))


def publication_of(record: Record) -> Publication:
    """264 with second indicator 1 (publication) first, else 260. Copyright-only 264 _4 is
    not a publication statement."""
    chosen = next((f for f in record.get_fields("264") if f.indicator2 == "1"), None)
    if chosen is None:
        chosen = next(iter(record.get_fields("260")), None)
    if chosen is None:
        return Publication()
    return Publication(
        place=_subfields_text(chosen, "a"),
        publisher=_subfields_text(chosen, "b"),
        date=_subfields_text(chosen, "c"),
    )


def _leader_at(record: Record, start: int, end: int) -> str:
    leader = str(record.leader or "")
    return leader[start:end] if len(leader) >= end else ""


def _first_subfield(record: Record, tag: str, code: str) -> str:
    for f in record.get_fields(tag):
        for value in f.get_subfields(code):
            if value.strip():
                return trim_isbd(value)
    return ""


def card_from_record(mms_id: str, record: Record) -> RecordCard:
    numbers = oclc_numbers(record)
    record_format = _leader_at(record, 6, 8)
    return RecordCard(
        mms_id=mms_id,
        title=_joined(record.get_fields("245"), "abnp"),
        edition=_joined(record.get_fields("250"), "ab"),
        publication=publication_of(record),
        extent=_joined(record.get_fields("300"), "a", _EXTENT_TRAILING),
        content_type=_rda_types(record, "336"),
        media_type=_rda_types(record, "337"),
        carrier_type=_rda_types(record, "338"),
        cataloging_language=_first_subfield(record, "040", "b"),
        record_format=record_format,
        encoding_level=_leader_at(record, 17, 18),
        oclc_numbers=numbers.all,
        cancelled_oclc_numbers=numbers.not_active,
        holding_institutions=tuple(dict.fromkeys(_holders(record))),
        is_serial=record_format[1:2] in SERIAL_LEVELS,
        unprotected_local_fields=unprotected_local_fields(record),
        main_entry=_joined([f for tag in MAIN_ENTRY_TAGS for f in record.get_fields(tag)], "abcdqnp"),
        responsibility=_first_subfield(record, "245", "c"),
        standard_numbers=standard_numbers(record),
        cataloging_source=_first_subfield(record, "040", "a"),
        description_rules=", ".join(dict.fromkeys(
            trim_isbd(v) for f in record.get_fields("040") for v in f.get_subfields("e") if trim_isbd(v))),
        last_changed=_date_of_005(record),
        system_numbers=system_numbers(record),
        carrier_codes=_codes(record, "338"),
        media_codes=_codes(record, "337"),
        form_of_item=form_of_item(record),
    )


MAIN_ENTRY_TAGS = ("100", "110", "111", "130")
# 008's form of item: o online, q direct electronic, s electronic (MARC 21 Bibliographic, 008).
ONLINE_FORMS = frozenset("oqs")
# Leader/06 types whose form of item is at 008/29 (maps, visual materials); others at 008/23.
_FORM_AT_29 = frozenset("efgkor")
_STANDARD_NUMBERS = (("020", "ISBN"), ("022", "ISSN"), ("024", "024"))
_OCLC_PREFIX = re.compile(r"^\s*\(OCoLC\)", re.IGNORECASE)


def standard_numbers(record: Record) -> tuple[str, ...]:
    """020/022/024 $a, labelled, each once: "ISBN 9780295984", "ISSN 1477-8920"."""
    found = [f"{label} {trim_isbd(v).split(' ')[0]}" for tag, label in _STANDARD_NUMBERS
             for f in record.get_fields(tag) for v in f.get_subfields("a") if trim_isbd(v)]
    return tuple(dict.fromkeys(found))


def system_numbers(record: Record) -> tuple[str, ...]:
    """035 $a numbers of other systems than OCLC, "(OrU)b2000147x": a member's own number
    can single one NZ duplicate out."""
    found = [v.strip() for f in record.get_fields("035") for v in f.get_subfields("a")
             if v.strip() and not _OCLC_PREFIX.match(v)]
    return tuple(dict.fromkeys(found))


def _codes(record: Record, tag: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for f in record.get_fields(tag) for v in f.get_subfields("b") if v.strip()))


def form_of_item(record: Record) -> str:
    """008's form of item (23, or 29 for maps and visual materials); "" when blank or absent."""
    f008 = next(iter(record.get_fields("008")), None)
    data = (f008.data or "") if f008 is not None else ""
    at = 29 if _leader_at(record, 6, 7) in _FORM_AT_29 else 23
    return data[at:at + 1].strip() if len(data) > at else ""


def _date_of_005(record: Record) -> str:
    """005 (yyyymmddhhmmss.f) as a date, "2024-01-05"; "" when absent or malformed."""
    f005 = next(iter(record.get_fields("005")), None)
    data = ((f005.data or "") if f005 is not None else "").strip()
    if len(data) < 8 or not data[:8].isdigit():
        return ""
    return f"{data[:4]}-{data[4:6]}-{data[6:8]}"


_LOCAL_LOOKING = re.compile(r"^(09.|59.|69.|77.|78.|9..)$")


def unprotected_local_fields(record: Record) -> tuple[str, ...]:
    """The tags of the record's local-looking fields that lack `$9 LOCAL` (either case),
    in record order, each once: what linking the record would lose."""
    tags = [f.tag for f in record.get_fields() if _LOCAL_LOOKING.match(f.tag or "") and not f.is_control_field()
            and not any((v or "").strip().upper() == "LOCAL" for v in f.get_subfields("9"))]
    return tuple(dict.fromkeys(tags))


def _holders(record: Record):
    for f in record.get_fields("852"):
        for code in f.get_subfields("a"):
            if code.strip():
                yield code.strip()


# --- telling cards apart ------------------------------------------------------------

# Compared fields; mms_id always differs between records, so it is never highlighted.
_COMPARED_TEXT = (
    "title",
    "edition",
    "content_type",
    "media_type",
    "carrier_type",
    "cataloging_language",
    "main_entry",
    "responsibility",
    "cataloging_source",
    "description_rules",
)
_COMPARED_EXACT = ("record_format", "encoding_level", "is_serial", "last_changed", "form_of_item")
# Compared as sets: the order of repeated fields is no difference between records.
_COMPARED_SETS = ("oclc_numbers", "current_oclc_numbers", "cancelled_oclc_numbers", "holding_institutions",
                  "standard_numbers", "system_numbers", "carrier_codes", "media_codes")
_PUNCTUATION = re.compile(r"[^\w\s]")


def _loose(text: str) -> str:
    """Case, punctuation and spacing differences are not differences between records."""
    return " ".join(_PUNCTUATION.sub(" ", text).casefold().split())


def _publication_key(p: Publication) -> tuple[str, str, str]:
    return (_loose(p.place), _loose(p.publisher), _loose(p.date))


def _main_count(extent: str) -> int | None:
    """The largest arabic number in a 300 $a: the pagination ("xii, 310 p." -> 310)."""
    numbers = [int(n) for n in re.findall(r"\d+", extent)]
    return max(numbers) if numbers else None


def same_extent(a: str, b: str) -> bool:
    """Pagination within 10% is the same work ("xii, 310 p." and "312 pages")."""
    count_a, count_b = _main_count(a), _main_count(b)
    if count_a is None or count_b is None:
        return count_a is None and count_b is None and _loose(a) == _loose(b)
    return abs(count_a - count_b) <= 0.1 * max(count_a, count_b)


def differences(cards: list[RecordCard]) -> set[str]:
    """Names of the card fields whose values are not the same on every card."""
    if len(cards) < 2:
        return set()
    differing: set[str] = set()
    for name in _COMPARED_TEXT:
        if len({_loose(getattr(c, name)) for c in cards}) > 1:
            differing.add(name)
    for name in _COMPARED_EXACT:
        if len({getattr(c, name) for c in cards}) > 1:
            differing.add(name)
    if len({_publication_key(c.publication) for c in cards}) > 1:
        differing.add("publication")
    if any(not same_extent(a.extent, b.extent) for a, b in combinations(cards, 2)):
        differing.add("extent")
    for name in _COMPARED_SETS:
        if len({frozenset(getattr(c, name)) for c in cards}) > 1:
            differing.add(name)
    return differing


# --- the evidence: what a person choosing between candidates reads ---------------------


@dataclass(frozen=True)
class EvidenceRow:
    """One thing catalogers compare. `short` prefixes the value in the one "same in all"
    line, where a bare value would be ambiguous ("OCLC 62222222", "held by 3")."""

    label: str
    short: str
    value: Callable[[RecordCard], str]
    compared: tuple[str, ...]  # the `differences` names it shows


def member_institutions(count: int) -> str:
    """"1 member institution", "3 member institutions"."""
    return f"{count} member institution{'' if count == 1 else 's'}"


def _held(card: RecordCard) -> str:
    if not card.holding_count:
        return ""
    return f"{member_institutions(card.holding_count)}: {', '.join(card.holding_institutions)}"


def format_words(card: RecordCard) -> str:
    """"Book (am); text / unmediated / volume": Leader/06-07, then 336/337/338."""
    fmt = f"{card.record_format_name} ({card.record_format})" if card.record_format else ""
    types = (" / ".join(t or "\u2014" for t in (card.content_type, card.media_type, card.carrier_type))
             if card.content_type or card.media_type or card.carrier_type else "")
    return "; ".join(p for p in (fmt, types or ("online" if card.form_of_item in ONLINE_FORMS else "")) if p)


def encoding_words(card: RecordCard) -> str:
    """"Full (blank)", "Minimal (7)": Leader/17's name, then its code."""
    if not card.encoding_level:
        return ""
    code = "blank" if card.encoding_level == " " else card.encoding_level
    return f"{card.encoding_level_name} ({code})"


EVIDENCE = (
    EvidenceRow("Title (245)", "", lambda c: c.title, ("title",)),
    EvidenceRow("Main entry (1XX)", "", lambda c: c.main_entry, ("main_entry",)),
    EvidenceRow("Responsibility (245 $c)", "", lambda c: c.responsibility, ("responsibility",)),
    EvidenceRow("Edition (250)", "", lambda c: c.edition, ("edition",)),
    EvidenceRow("Publication (264/260)", "", lambda c: str(c.publication), ("publication",)),
    EvidenceRow("Extent (300)", "", lambda c: c.extent, ("extent",)),
    EvidenceRow("Format and carrier (Leader/06-07, 336/337/338)", "", format_words,
                ("record_format", "is_serial", "content_type", "media_type", "carrier_type", "carrier_codes",
                 "media_codes", "form_of_item")),
    EvidenceRow("Encoding level (Leader/17)", "level", encoding_words, ("encoding_level",)),
    EvidenceRow("Language of cataloging (040 $b)", "cataloged in", lambda c: c.cataloging_language,
                ("cataloging_language",)),
    EvidenceRow("Cataloged by (040 $a $e)", "040",
                lambda c: " ".join(p for p in (c.cataloging_source, c.description_rules) if p),
                ("cataloging_source", "description_rules")),
    EvidenceRow("ISBN/ISSN/024", "", lambda c: ", ".join(c.standard_numbers), ("standard_numbers",)),
    EvidenceRow("OCLC number (035 $a)", "OCLC", lambda c: ", ".join(c.current_oclc_numbers),
                ("current_oclc_numbers",)),
    EvidenceRow("Cancelled or merged OCLC (035 $z, 019)", "cancelled OCLC",
                lambda c: ", ".join(c.cancelled_oclc_numbers), ("cancelled_oclc_numbers",)),
    EvidenceRow("Other system numbers (035)", "035", lambda c: ", ".join(c.system_numbers), ("system_numbers",)),
    EvidenceRow("Last changed (005)", "changed", lambda c: c.last_changed, ("last_changed",)),
    EvidenceRow("Held by (852)", "held by", _held, ("holding_institutions",)),
)


@dataclass(frozen=True)
class Shown:
    label: str
    value: str
    differs: bool = False


@dataclass(frozen=True)
class Comparison:
    """The candidates side by side: what is the same in all of them, once, and per
    candidate only what differs (`differs` marks the value that is not the same)."""

    same: tuple[Shown, ...]
    each: tuple[tuple[Shown, ...], ...]

    @property
    def differs(self) -> bool:
        return any(self.each)


def described(card: RecordCard | None) -> tuple[Shown, ...]:
    """One record alone (the IZ record beside its candidates): everything it has."""
    return compare([card]).same if card is not None else ()


def compare(cards: list[RecordCard]) -> Comparison:
    """What to show of several candidates. A value empty in every card is left out; with one
    card everything it has is "the same"."""
    differing = differences(cards)
    same: list[Shown] = []
    each: list[list[Shown]] = [[] for _ in cards]
    for row in EVIDENCE:
        if any(name in differing for name in row.compared):
            for shown, card in zip(each, cards):
                shown.append(Shown(row.label, row.value(card) or "none", True))
        elif cards and row.value(cards[0]):
            same.append(Shown(row.short, row.value(cards[0])))
    return Comparison(tuple(same), tuple(tuple(s) for s in each))
