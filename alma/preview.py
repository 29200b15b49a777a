""""What would this record link to?" and "what will this set do?", answered before the
link job runs, with as few Alma calls as the answer allows.

A set is read in chunks: member pages, then bibs 100 at a time, then one SRU search for
all the chunk's OCLC numbers (OR-ed, paged at 50), all concurrent inside the client's rate
limit. Each chunk is matched and handed on while the next one's members and bibs are
read, and no further ahead, so memory stays flat however large the set.
"""

from __future__ import annotations

from concurrent.futures import wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from alma.calls import FairPool, Lane, reading
from alma.client import MEMBERS_PER_PAGE, AlmaClient, check_mms_id
from alma.errors import BadInput, quoted
from alma.matching import Match, NzIndex, Verdict, match_bib, match_oclc
from alma.models import AlmaSet, Bib
from alma.oclc import normalize_oclc, oclc_numbers
from alma.suggestion import from_oclc_merge

CHUNK_PAGES = 10  # member pages read per chunk: 1,000 records in memory at a time
WORKERS = 8  # concurrent calls of one client; its limiter keeps them under Alma's pace
# Every preview and re-check in the process shares these threads, each Alma client (a
# member's key) a lane of its own: a consortium of 100 members reading at once has as
# many threads as one (at 150 ms a call, 16 threads keep some 100 calls a second going).
CALLS = FairPool(threads=16, per_lane=WORKERS, name="alma-calls")
# Reading the next chunk of a large set ahead; a read-ahead only waits on CALLS, never on
# its own pool, and is only offered (a pass reads for itself when no thread is free).
READ_AHEAD = FairPool(threads=2, per_lane=1, name="alma-read-ahead")


@dataclass(frozen=True)
class SetPreview:
    """The preview's heading; the per-record matches stream from `preview_set`."""

    set: AlmaSet
    total: int


@dataclass
class PreviewCounts:
    """Records per verdict, and the first few MMS IDs of each to show as examples."""

    counts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    examples: dict[str, list[str]] = field(default_factory=lambda: {v.value: [] for v in Verdict})
    examples_kept: int = 5
    # Records that will link and carry local-looking fields without $9 LOCAL: the link job
    # replaces them with the NZ record's content, so those fields would be lost.
    local_at_risk: int = 0
    local_at_risk_examples: list[str] = field(default_factory=list)
    # Multi-matches that come from an OCLC merge (alma/suggestion.py): resolved mechanically.
    from_oclc_merge: int = 0

    def add(self, mms_id: str, match: Match) -> None:
        verdict = match.verdict.value
        self.counts[verdict] += 1
        if len(self.examples[verdict]) < self.examples_kept:
            self.examples[verdict].append(mms_id)
        if match.verdict is Verdict.MULTI and from_oclc_merge(match.candidates):
            self.from_oclc_merge += 1
        if local_fields_at_risk(match):
            self.local_at_risk += 1
            if len(self.local_at_risk_examples) < self.examples_kept:
                self.local_at_risk_examples.append(mms_id)


def local_fields_at_risk(match: Match) -> tuple[str, ...]:
    """The local-looking fields without $9 LOCAL of an IZ record the link job will link."""
    if match.verdict is not Verdict.UNIQUE or match.iz is None:
        return ()
    return match.iz.unprotected_local_fields


def look_up(client: AlmaClient, identifier: str) -> Match:
    """An IZ record's matches, by MMS ID; or, for an OCLC number, the NZ records carrying it.

    An MMS ID begins with 99; anything else made of digits, or written (OCoLC)…, is taken
    as an OCLC number.
    """
    value = (identifier or "").strip()
    if not value:
        raise BadInput("Give an IZ record's MMS ID or an OCLC number.")
    if value.isascii() and value.isdigit() and value.startswith("99") and len(value) >= 8:
        return look_up_record(client, value)[1]
    ocn = normalize_oclc(value if value.startswith("(") else f"(OCoLC){value}")
    if ocn is None:
        raise BadInput(
            f"{quoted(value)} is neither an MMS ID (digits, beginning with 99) nor an OCLC number "
            "(digits, optionally written (OCoLC)12345678)."
        )
    index = NzIndex()
    for record in client.nz_records_with_oclc([ocn]):
        index.add(record)
    return match_oclc(ocn, index)


def look_up_record(client: AlmaClient, mms_id: str) -> tuple[Bib, Match]:
    """An IZ record as Alma holds it, and its matches: for work that needs both (linking
    one record keeps its MARC first), from one read of the record."""
    bib = client.get_bib(check_mms_id(mms_id))
    return bib, match_bib(bib, nz_index_for(client, [bib]))


def nz_index_for(client: AlmaClient, bibs: Iterable[Bib], pool: Lane | None = None) -> NzIndex:
    """An index of the NZ records that carry any OCLC number of the unlinked `bibs`."""
    numbers: list[str] = []
    for bib in bibs:
        if bib.linked_nz_mms_id or bib.record is None:
            continue
        numbers.extend(oclc_numbers(bib.record).active)
    index = NzIndex()
    queries = client.oclc_queries(numbers)
    mapper = pool.map if pool is not None else map
    for records in mapper(lambda q: list(client.sru_search(q)), queries):
        with reading():  # indexing reads each record's OCLC numbers and card: CPU work
            for record in records:
                index.add(record)
    return index


def open_set(client: AlmaClient, id_or_name: str) -> SetPreview:
    found = client.find_set(id_or_name)
    return SetPreview(set=found, total=found.number_of_members)


def preview_set(
    client: AlmaClient,
    heading: SetPreview,
    progress: Callable[[int, int], None] | None = None,
    start: int = 0,
) -> Iterator[tuple[str, Match | None]]:
    """(member MMS ID, match) for every member, chunk by chunk. A member Alma no longer
    has comes back with None. `progress(done, total)` follows each chunk, `done` being
    the member offset reached: a pass stopped there resumes with `start=done`."""
    set_id = heading.set.id
    done = start
    pool, ahead = CALLS.lane(client.http), READ_AHEAD.lane(client.http)
    chunks = _member_chunks(client, set_id, pool, start)

    def read_next() -> tuple[list[str], int | None, int, dict[str, Bib]] | None:
        chunk = next(chunks, None)
        if chunk is None:
            return None
        ids, total, reached, bibs = chunk
        if bibs is None:  # ids read page after page (Alma gave no total): their bibs now
            batches = [ids[i : i + 100] for i in range(0, len(ids), 100)]
            bibs = {b.mms_id: b for batch in pool.map(set_bibs(client), batches) for b in batch}
        return ids, total, reached, bibs

    # The next chunk read ahead (its member pages and bibs) while this one's NZ records are
    # searched and its matches taken, when a read-ahead thread is free: no idle gap between
    # chunks, two chunks in memory. When none is free, this thread reads it when it needs it.
    chunk = read_next()
    coming = None
    try:
        while chunk is not None:
            ids, total, reached, bibs = chunk
            coming = ahead.offer(read_next) if total is None or reached < total else None
            index = nz_index_for(client, bibs.values(), pool)
            with reading():  # matching a chunk is CPU work: one member's at a time
                matches = [(mms_id, match_bib(bibs[mms_id], index) if mms_id in bibs else None)
                           for mms_id in ids]
            yield from matches
            done = reached
            if progress is not None:
                progress(done, total if total is not None else max(done, heading.total))
            chunk = coming.result() if coming is not None else read_next()
    finally:  # a pass stopped early reads no further, and ends when its reading has
        if coming is not None and not coming.cancel():
            wait([coming])


CHUNK = MEMBERS_PER_PAGE * CHUNK_PAGES


def set_bibs(client: AlmaClient) -> Callable[[Sequence[str]], list[Bib]]:
    """get_bibs for a pass over many records: a linked record only counts as linked (its
    MARC, its card and OCLC numbers are never shown), so its MARC is not read."""
    return lambda ids: client.get_bibs(ids, linked_marc=False)


def match_records(client: AlmaClient, mms_ids: Sequence[str], progress: Callable[[int, int], None] | None = None,
                  start: int = 0) -> Iterator[tuple[str, Match | None]]:
    """(MMS ID, match) for named IZ records, as `preview_set` gives a set's members: CHUNK at
    a time, bibs 100 a call, one SRU index a chunk. `progress(done, total)` after each chunk,
    `done` the position reached in `mms_ids` (a pass stopped there resumes with `start=done`)."""
    ids = list(dict.fromkeys(mms_ids))
    pool = CALLS.lane(client.http)
    for chunk_start in range(start, len(ids), CHUNK):
        chunk = ids[chunk_start : chunk_start + CHUNK]
        batches = [chunk[i : i + 100] for i in range(0, len(chunk), 100)]
        bibs = {b.mms_id: b for batch in pool.map(set_bibs(client), batches) for b in batch}
        index = nz_index_for(client, bibs.values(), pool)
        with reading():
            matches = [(mms_id, match_bib(bibs[mms_id], index) if mms_id in bibs else None) for mms_id in chunk]
        yield from matches
        if progress is not None:
            progress(min(chunk_start + CHUNK, len(ids)), len(ids))


def _member_chunks(client: AlmaClient, set_id: str, pool: Lane,
                   start: int = 0) -> Iterator[tuple[list[str], int | None, int, dict[str, Bib] | None]]:
    """The set's member ids from offset `start`, CHUNK at a time, with the set's total, the
    member offset reached after the chunk, and the chunk's bibs by MMS ID. When Alma gives
    the total, a chunk's pages are read concurrently, each page's bibs asked for as soon as
    the page is back (no wait for the slowest page between the two: the re-check, with few
    SRU searches to fill it, reached 82% of Alma's pace with it, 87% without). When Alma
    leaves the total out, pages are read one after another by the client's paging loop,
    until one comes back short, and the bibs are left to the caller (None)."""
    first_page, total = client.set_members_page(set_id, start)
    if total is None:
        ids: list[str] = [m.id for m in first_page]
        reached = start + len(first_page)
        rest = client.set_members(set_id, reached) if len(first_page) == MEMBERS_PER_PAGE else ()
        for member in rest:
            ids.append(member.id)
            reached += 1
            if len(ids) == CHUNK:
                yield list(dict.fromkeys(ids)), None, reached, None
                ids = []
        if ids:
            yield list(dict.fromkeys(ids)), None, reached, None
        return

    def page_and_bibs(offset: int | None) -> tuple[list, list[Bib]]:
        page = first_page if offset is None else client.set_members_page(set_id, offset)[0]
        page_ids = list(dict.fromkeys(m.id for m in page))  # a page is at most 100: one bibs call
        return page, (set_bibs(client)(page_ids) if page_ids else [])

    offsets = range(start + MEMBERS_PER_PAGE, total, MEMBERS_PER_PAGE)
    for chunk_start in range(start, max(total, 1), CHUNK):
        chunk_offsets = [o for o in offsets if chunk_start <= o < chunk_start + CHUNK]
        read = list(pool.map(page_and_bibs, ([None] if chunk_start == start else []) + chunk_offsets))
        ids = list(dict.fromkeys(m.id for page, _ in read for m in page))
        if not ids:
            return
        yield ids, total, min(chunk_start + CHUNK, total), {b.mms_id: b for _, bibs in read for b in bibs}
