"""The catalogers' lookups, each one piece of work with the Alma calls it cost: "what would
this record link to?" (`/nz match`, `nzbot match`) and "what will the link job do to this
set?" (`/nz preview`, `nzbot preview`); and "what did this record hold before nzbot linked
it?" (`/nz history`, `nzbot history`), from the bot's own database.

The calls are counted on the piece of work itself (`alma.calls`), not read off the shared
client, so a preview reports its own calls exactly while other commands and the scheduler
use the same client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from alma.calls import CallTally
from alma.client import AlmaClient, check_mms_id
from alma.matching import Match
from alma.oclc import parse_typed_oclc
from alma.models import AlmaSet
from alma.preview import PreviewCounts, SetPreview, look_up, open_set, preview_set
from nzbot.access import Scope
from nzbot.store import KeptRecord, Store


@dataclass(frozen=True)
class RecordLookup:
    match: Match
    calls: CallTally


def match_identifier(client: AlmaClient, identifier: str) -> RecordLookup:
    """An IZ record's matches by MMS ID, or the NZ records carrying an OCLC number."""
    calls = CallTally()
    with calls.counting():
        match = look_up(client, identifier)
    return RecordLookup(match, calls)


# What a message may hold that `match_identifier` answers: an MMS ID (digits beginning with
# 99, 8 or more, as look_up takes one), or an OCLC number written as one ((OCoLC)…, ocm…,
# ocn…, on…, "OCLC 123…"); a bare number that is not an MMS ID is not taken for an OCN.
_IDENTIFIER = re.compile(
    r"(?<![\w)])(?P<mms>99[0-9]{6,23})(?!\w)"
    r"|(?P<ocn>\(OCoLC\)\s*(?:oc[mn]|on)?[0-9]+|(?<!\w)(?:oc[mn]|on)[0-9]+(?!\w))"
    r"|(?<!\w)OCLC\s*(?:#|no\.?|number)?\s*:?\s*(?P<bare>[0-9]+)(?!\w)",
    re.IGNORECASE)


def identifiers_in(text: str) -> list[str]:
    """The MMS IDs and OCLC numbers a message holds, in order, each once (an OCLC number
    written two ways counts once)."""
    found: dict[str, str] = {}
    for hit in _IDENTIFIER.finditer(text or ""):
        value = (hit.group("mms") or hit.group("ocn") or hit.group("bare")).replace(" ", "")
        key = value if hit.group("mms") else f"ocn:{parse_typed_oclc(value) or value}"
        found.setdefault(key, value)
    return list(found.values())


@dataclass
class Preview:
    """One preview of one set: its heading, then its records read on demand, with the
    verdict counts and the Alma calls (opening the set included) so far."""

    client: AlmaClient
    heading: SetPreview
    calls: CallTally
    counts: PreviewCounts = field(default_factory=PreviewCounts)

    @property
    def set(self) -> AlmaSet:
        return self.heading.set

    @property
    def total(self) -> int:
        return self.heading.total

    def records(self, progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[str, Match]]:
        """(MMS ID, match) for every member Alma still has, added to `counts` as they come."""
        stream = preview_set(self.client, self.heading, progress)
        try:
            while True:
                # Counted around each step, not across the loop: the caller's code between
                # steps is not this work, and a context variable set inside a generator
                # would stay set in the caller's context while it is suspended.
                with self.calls.counting():
                    step = next(stream, None)
                if step is None:
                    return
                mms_id, match = step
                if match is not None:
                    self.counts.add(mms_id, match)
                    yield mms_id, match
        finally:
            stream.close()  # a reader that stops early shuts the preview's threads down now

    def count(self, progress: Callable[[int, int], None] | None = None) -> PreviewCounts:
        """Reads every record; the counts per verdict."""
        for _ in self.records(progress):
            pass
        return self.counts


def open_preview(client: AlmaClient, id_or_name: str) -> Preview:
    """Finds the set to preview (by id or exact name); refuses what cannot be previewed."""
    calls = CallTally()
    with calls.counting():
        heading = open_set(client, id_or_name)
    return Preview(client, heading, calls)


def record_history(store: Store, mms_id: str, scope: Scope) -> tuple[str, list[KeptRecord]]:
    """An IZ record's copies kept before nzbot linked it, newest first, of `scope`'s members;
    BadInput for anything that is not an MMS ID."""
    mms_id = check_mms_id(mms_id)
    return mms_id, store.kept_records(mms_id, scope=scope)
