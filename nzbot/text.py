"""What nzbot says in words, Slack-free: each verdict's wording (the Slack messages and the
command line both read it), and the plain-text output of the command line."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from alma.cards import encoding_words, format_words
from alma.matching import Match, Verdict
from alma.suggestion import DEFAULT_RULES, Rule, recommend


@dataclass(frozen=True)
class VerdictWords:
    label: str  # a count's label: "Will link 1,100"
    note: str  # what it means for a set (the preview)
    meaning: str  # what it means for one record, in a line (command line, case notes)
    explanation: str  # the whole story, for /nz match


# Verdicts in catalogers' words, the one place they are worded.
VERDICTS: dict[Verdict, VerdictWords] = {
    Verdict.LINKED: VerdictWords(
        "Already linked", "nothing to do", "already linked to the NZ",
        "The IZ record is already linked to the Network Zone: nothing to do."),
    Verdict.UNIQUE: VerdictWords(
        "Will link", "one NZ match", "one NZ match: the link job will link it",
        "Exactly one NZ record carries this OCLC number: the link job will link to it."),
    Verdict.MULTI: VerdictWords(
        "Multi-match", "several NZ matches, will not link",
        "several NZ matches: the link job will not link it (multi-match)",
        "Several NZ records carry this OCLC number, so the link job will not link. "
        "The Program Manager for Technical Services can choose, or you can link the IZ record "
        "yourself in the Metadata Editor (Record Actions > Share with Network > Yes > Link)."),
    Verdict.NONE: VerdictWords(
        "No NZ match", "skipped, or contributed if asked",
        "no NZ match: the link job will skip it, or contribute it if asked",
        "No NZ record carries this OCLC number: the link job will skip the IZ record, or add it "
        "to the NZ as a new record when \u201cContribute IZ records\u201d is on."),
    Verdict.NO_OCLC: VerdictWords(
        "No usable OCLC number", "nothing in 035 $a to match on",
        "no usable OCLC number: the Unique OCLC method cannot match it",
        "The IZ record has no usable OCLC number in 035 $a, so the Unique OCLC method cannot "
        "match it."),
    Verdict.UNREADABLE: VerdictWords(
        "Can't be read", "broken MARC: fix it in the Metadata Editor",
        "can't be read: its MARC is broken; correct it in the Metadata Editor",
        "The IZ record can't be read: Alma sent MARC that is broken (often a stray control "
        "character). Open it in the Metadata Editor, correct it and save, then ask again."),
}


# Verdicts in the order a preview counts them (Slack's preview and the command line's).
VERDICT_ORDER = (Verdict.UNIQUE, Verdict.MULTI, Verdict.NONE, Verdict.NO_OCLC, Verdict.LINKED,
                 Verdict.UNREADABLE)


def match_summary(match: Match, rules: Sequence[Rule] = DEFAULT_RULES) -> str:
    lines = []
    if match.iz is not None:
        lines.append(f"IZ record {match.iz.mms_id}: {match.iz.title}")
        if match.iz_oclc.active:
            lines.append(f"  OCLC numbers: {', '.join(match.iz_oclc.active)}")
        if match.iz_oclc.cancelled:
            lines.append(f"  Cancelled OCLC numbers (035 $z, not searched): {', '.join(match.iz_oclc.cancelled)}")
    words = VERDICTS[match.verdict]
    lines.append(f"Verdict: {words.label}. {words.explanation}")
    if match.linked_nz_mms_id:
        lines.append(f"  Linked to NZ record {match.linked_nz_mms_id}")
    for number, card in enumerate(match.candidates, 1):
        lines.append(f"Candidate {number}: NZ record {card.mms_id}")
        lines.append(f"  {card.title}")
        details = [card.edition, card.publication, card.extent]
        lines.extend(f"  {d}" for d in details if d)
        held = len(card.holding_institutions)
        lines.append(
            f"  Format: {format_words(card) or '-'}; encoding level: {encoding_words(card) or '-'}; "
            f"cataloging language: {card.cataloging_language or '-'}; "
            f"held by {held} member{'' if held == 1 else 's'}"
        )
        lines.append(f"  OCLC numbers: {', '.join(card.oclc_numbers) or '-'}")
    found = recommend(match.iz, match.candidates, rules)
    if found.suggestion:
        lines.append(found.suggestion.summary)
    elif found.level:
        lines.append(found.tie_words + ".")
    return "\n".join(lines)


PREVIEW_HEADER = "MMS ID\tVerdict\tNZ records"


def preview_summary_line(mms_id: str, match: Match) -> str:
    """One member's line under PREVIEW_HEADER: its verdict in Slack's words, and the NZ
    records it matches (or is linked to)."""
    ids = ", ".join(c.mms_id for c in match.candidates) or match.linked_nz_mms_id or ""
    return f"{mms_id}\t{VERDICTS[match.verdict].label}\t{ids}"


def preview_tally(counts: dict[str, int]) -> list[str]:
    """The counts as Slack's preview gives them: each verdict's label, count and note, in
    its order (a verdict this nzbot does not know, by its own name, last)."""
    known = [v.value for v in VERDICT_ORDER]
    lines = ["What the link job would do (Unique OCLC method):"]
    for key in known + [k for k in counts if k not in known]:
        words = VERDICTS[Verdict(key)] if key in known else None
        note = f" ({words.note})" if words else ""
        lines.append(f"  {words.label if words else key}: {counts.get(key, 0):,}{note}")
    return lines


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
