"""The verdict: what Alma's Unique OCLC match method will do with an IZ record.

Alma matches an IZ record's OCNs against NZ records' 035 $a and $z: exactly one NZ record
links, none is skipped (or contributed), two or more is a multi-match Alma won't resolve.
Here we predict that from the IZ record and a pool of NZ records fetched by SRU, so the
cataloger (or the Program Manager) sees the candidates before the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Iterable, Sequence

from pymarc import Record

from alma.cards import RecordCard, card_from_record, differences
from alma.marc import control_number
from alma.models import Bib
from alma.oclc import OclcNumbers, oclc_numbers, parse_typed_oclc
from alma.suggestion import DEFAULT_RULES, Rule, recommend


class Verdict(StrEnum):
    LINKED = "linked"  # already linked to an NZ record
    NO_OCLC = "no_oclc"  # no usable OCN in 035 $a: the match method cannot work
    NONE = "none"  # no NZ record carries its OCN
    UNIQUE = "unique"  # exactly one: the link job will link it
    MULTI = "multi"  # two or more: multi-match, for the Program Manager or Method 2
    UNREADABLE = "unreadable"  # Alma's copy of its MARC cannot be parsed: fix it first


class NzIndex:
    """NZ records by OCN, so matching thousands of IZ records costs one lookup each.

    An NZ record is found by the OCNs in its 035 $a and $z (as Alma's match method does),
    not by its 019. Candidates come back in the order their records were added.
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._mms_ids_by_ocn: dict[str, dict[str, None]] = {}  # dict as an ordered set
        self._cards: dict[str, RecordCard] = {}
        self._position: dict[str, int] = {}
        self._ocns_of: dict[str, tuple[str, ...]] = {}
        for record in records:
            self.add(record)

    def add(self, record: Record) -> RecordCard | None:
        """Indexes one NZ record; a record seen again replaces the earlier copy.
        Returns its card, or None when it has no 001 (it could never be linked to)."""
        mms_id = control_number(record)
        if mms_id is None:
            return None
        self._forget_ocns(mms_id)
        numbers = oclc_numbers(record)
        matchable = tuple(dict.fromkeys((*numbers.active, *numbers.cancelled)))
        for ocn in matchable:
            self._mms_ids_by_ocn.setdefault(ocn, {})[mms_id] = None
        self._ocns_of[mms_id] = matchable
        self._position.setdefault(mms_id, len(self._position))
        card = card_from_record(mms_id, record)
        self._cards[mms_id] = card
        return card

    def _forget_ocns(self, mms_id: str) -> None:
        for ocn in self._ocns_of.pop(mms_id, ()):
            self._mms_ids_by_ocn[ocn].pop(mms_id, None)

    def mms_ids_for(self, ocn: str) -> tuple[str, ...]:
        """NZ MMS IDs carrying this (normalised) OCN in 035 $a or $z."""
        return tuple(self._mms_ids_by_ocn.get(ocn, ()))

    def card(self, mms_id: str) -> RecordCard | None:
        return self._cards.get(mms_id)

    def candidates(self, ocns: Iterable[str]) -> list[RecordCard]:
        """NZ records carrying any of these OCNs, each once, in the order they were added."""
        found = {mms_id for ocn in ocns for mms_id in self.mms_ids_for(ocn)}
        return [self._cards[m] for m in sorted(found, key=self._position.__getitem__)]

    def __len__(self) -> int:
        return len(self._cards)

    def __contains__(self, mms_id: object) -> bool:
        return mms_id in self._cards


NzPool = NzIndex | Iterable[Record]


def _as_index(nz_pool: NzPool) -> NzIndex:
    return nz_pool if isinstance(nz_pool, NzIndex) else NzIndex(nz_pool)


def candidates_for(iz_numbers: OclcNumbers, nz_records: NzPool) -> list[RecordCard]:
    """The NZ records Alma would match: those carrying one of the IZ record's active OCNs.

    The IZ record's cancelled ($z) and merged (019) numbers are never searched with; the
    pool may hold records found for other IZ records of the same batch, which drop out.
    """
    return _as_index(nz_records).candidates(iz_numbers.active)


@dataclass(frozen=True)
class Match:
    iz: RecordCard | None  # None when a cataloger asked about an OCN, not a record
    iz_oclc: OclcNumbers
    linked_nz_mms_id: str | None
    verdict: Verdict
    candidates: tuple[RecordCard, ...] = ()

    @property
    def candidate_differences(self) -> set[str]:
        """Card fields that differ between the candidates (to highlight them)."""
        return differences(list(self.candidates))


def _verdict_for(count: int) -> Verdict:
    if count == 0:
        return Verdict.NONE
    return Verdict.UNIQUE if count == 1 else Verdict.MULTI


def _iz_card(bib: Bib) -> RecordCard:
    if bib.record is None:  # fetched with view=brief: only what Alma told us
        return RecordCard(mms_id=bib.mms_id, title=bib.title)
    card = card_from_record(bib.mms_id, bib.record)
    return card if card.title else replace(card, title=bib.title)


def match_bib(bib: Bib, nz_pool: NzPool) -> Match:
    """The verdict for one IZ record against the NZ records (a pool or an NzIndex).

    An already linked record is reported as linked, without candidates: there is nothing
    left to choose. Pass an NzIndex when matching many records against one pool.
    """
    iz_oclc = oclc_numbers(bib.record)
    base = Match(_iz_card(bib), iz_oclc, bib.linked_nz_mms_id or None, Verdict.LINKED)
    if base.linked_nz_mms_id:
        return base
    if bib.unreadable:
        return replace(base, verdict=Verdict.UNREADABLE)
    if not iz_oclc.active:
        return replace(base, verdict=Verdict.NO_OCLC)
    found = tuple(candidates_for(iz_oclc, nz_pool))
    return replace(base, verdict=_verdict_for(len(found)), candidates=found)


def match_oclc(ocn: str, nz_pool: NzPool) -> Match:
    """The verdict for an OCN a cataloger typed ("52467191", "ocm52467191", "(OCoLC)…")."""
    number = parse_typed_oclc(ocn)
    if number is None:
        return Match(None, OclcNumbers(), None, Verdict.NO_OCLC)
    iz_oclc = OclcNumbers(active=(number,))
    found = tuple(candidates_for(iz_oclc, nz_pool))
    return Match(None, iz_oclc, None, _verdict_for(len(found)), found)


def to_json(match: Match, rules: Sequence[Rule] = DEFAULT_RULES) -> dict[str, Any]:
    """Plain JSON. For the IZ record, "oclc_numbers" are the active ones (those searched
    with) and "cancelled_oclc_numbers" its $z and 019 numbers; for candidates,
    "oclc_numbers" are all of theirs, since a $z number matches on the NZ side.
    "recommendation": the suggested pick among two or more candidates (`rules`, in order),
    or null."""
    found = recommend(match.iz, match.candidates, rules).suggestion
    return {
        "iz": _iz_json(match),
        "verdict": match.verdict.value,
        "candidates": [card.as_dict() for card in match.candidates],
        "recommendation": found.as_dict() if found else None,
    }


def _iz_json(match: Match) -> dict[str, Any] | None:
    if match.iz is None:
        return None
    data = match.iz.as_dict()
    data["oclc_numbers"] = list(match.iz_oclc.active)
    data["cancelled_oclc_numbers"] = list(match.iz_oclc.not_active)
    data["linked_nz_mms_id"] = match.linked_nz_mms_id
    return data
