"""Plain-text output for the command line."""

from __future__ import annotations

import time
from typing import TextIO

from alma.matching import Match, Verdict

VERDICT_WORDS = {
    Verdict.LINKED: "already linked to the NZ",
    Verdict.UNIQUE: "one NZ match: the link job will link it",
    Verdict.MULTI: "several NZ matches: the link job will not link it (multi-match)",
    Verdict.NONE: "no NZ match: the link job will skip it, or contribute it if asked",
    Verdict.NO_OCLC: "no usable OCLC number: the Unique OCLC method cannot match it",
    Verdict.UNREADABLE: "can't be read: its MARC is broken; correct it in the Metadata Editor",
}


def match_summary(match: Match) -> str:
    lines = []
    if match.iz is not None:
        lines.append(f"IZ record {match.iz.mms_id}: {match.iz.title}")
        if match.iz_oclc.active:
            lines.append(f"  OCLC numbers: {', '.join(match.iz_oclc.active)}")
        if match.iz_oclc.cancelled:
            lines.append(f"  Cancelled OCLC numbers (035 $z, not searched): {', '.join(match.iz_oclc.cancelled)}")
    lines.append(f"Verdict: {match.verdict.value} ({VERDICT_WORDS[match.verdict]})")
    if match.linked_nz_mms_id:
        lines.append(f"  Linked to NZ record {match.linked_nz_mms_id}")
    for number, card in enumerate(match.candidates, 1):
        lines.append(f"Candidate {number}: NZ record {card.mms_id}")
        lines.append(f"  {card.title}")
        details = [card.edition, card.publication, card.extent]
        lines.extend(f"  {d}" for d in details if d)
        lines.append(
            f"  Format {card.record_format}, encoding level {card.encoding_level!r}, "
            f"cataloging language {card.cataloging_language or '-'}, "
            f"held by {len(card.holding_institutions)} member(s)"
        )
        lines.append(f"  OCLC numbers: {', '.join(card.oclc_numbers) or '-'}")
    return "\n".join(lines)


def preview_summary_line(mms_id: str, match: Match) -> str:
    ids = ", ".join(c.mms_id for c in match.candidates)
    return f"{mms_id}\t{match.verdict.value}\t{ids}"


class Progress:
    """Progress on stderr for long runs, at most a line a second."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 1.0 and done < total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        self.stream.write(f"{self.label}: {done:,} of {total:,} records ({rate:,.0f}/s)\n")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.flush()
