"""OCLC numbers (OCNs): finding them in a MARC record and putting them in one form.

The Unique OCLC match method compares OCNs, so `(OCoLC)ocm00012345` and `(OCoLC)12345`
must come out the same ("12345"), while things that only look like OCNs must not come out
at all (docs/alma.md, "OCLC numbers in real catalogues", for the pitfalls).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymarc import Record

OCLC_PREFIX = "(OCoLC)"

# A 035 value that is an OCN: the (OCoLC) prefix, an optional ocm/ocn/on, then digits only.
# Decision: lenient on digit counts (ocm is meant to be 8 digits, ocn 9, on 10+, but old
# records break those rules and the number is still the number), strict on "only digits
# after the letters": anything else (TGPSM11-B2267, ocmDCLC6114599B) is not an OCN, and we
# never strip letters to make one. The prefix and the letters are matched case-insensitively
# because "(OCOLC)" turns up in migrated data; (OCoLC-M)/(OCoLC-I) never match since the
# closing parenthesis must follow "OCoLC" directly.
_PREFIXED_OCN = re.compile(r"\(ocolc\)\s*(?:ocm|ocn|on)?([0-9]+)", re.IGNORECASE)

# 019 $a carries no prefix: bare digits, sometimes still with the old ocm/ocn/on letters.
_MERGED_OCN = re.compile(r"(?:\(ocolc\)\s*)?(?:ocm|ocn|on)?([0-9]+)", re.IGNORECASE)

# What a cataloger may type when asking about a number: any of the forms above.
_TYPED_OCN = _MERGED_OCN


def _digits_without_zeros(digits: str) -> str | None:
    number = digits.lstrip("0")
    return number or None  # all zeros is no number at all


def normalize_oclc(value: str | None) -> str | None:
    """The bare OCN ("52467191") in a 035 value, or None if the value is not an OCN."""
    if not value:
        return None
    found = _PREFIXED_OCN.fullmatch(value.strip())
    return _digits_without_zeros(found.group(1)) if found else None


def normalize_merged_oclc(value: str | None) -> str | None:
    """The bare OCN in a 019 $a value (no prefix there), or None."""
    if not value:
        return None
    found = _MERGED_OCN.fullmatch(value.strip())
    return _digits_without_zeros(found.group(1)) if found else None


def parse_typed_oclc(text: str | None) -> str | None:
    """The OCN a cataloger typed: "52467191", "ocm52467191" or "(OCoLC)52467191" all work.

    Unlike a 035 value, a bare number here is meant as an OCN: the cataloger said so.
    """
    if not text:
        return None
    found = _TYPED_OCN.fullmatch(text.strip())
    return _digits_without_zeros(found.group(1)) if found else None


def _unique(values) -> tuple[str, ...]:
    """De-duplicated, first occurrence kept, Nones dropped."""
    return tuple(dict.fromkeys(v for v in values if v))


@dataclass(frozen=True)
class OclcNumbers:
    """The OCNs of one record, normalised.

    active: 035 $a, the numbers a match is searched with.
    cancelled: 035 $z, cancelled or merged numbers: shown, and matched on the NZ side,
        but an IZ record is never searched by them.
    merged: 019 $a, numbers OCLC merged into this record: shown only.
    """

    active: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return _unique((*self.active, *self.cancelled, *self.merged))

    @property
    def not_active(self) -> tuple[str, ...]:
        """Cancelled and merged numbers that are not also active."""
        return tuple(n for n in _unique((*self.cancelled, *self.merged)) if n not in self.active)


def _subfield_values(record: Record, tag: str, code: str) -> list[str]:
    return [value for field in record.get_fields(tag) for value in field.get_subfields(code)]


def oclc_numbers(record: Record | None) -> OclcNumbers:
    """All the OCNs in a record's 035 $a, 035 $z and 019 $a."""
    if record is None:
        return OclcNumbers()
    return OclcNumbers(
        active=_unique(normalize_oclc(v) for v in _subfield_values(record, "035", "a")),
        cancelled=_unique(normalize_oclc(v) for v in _subfield_values(record, "035", "z")),
        merged=_unique(normalize_merged_oclc(v) for v in _subfield_values(record, "019", "a")),
    )
