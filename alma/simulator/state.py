"""The simulated catalogue: IZ and NZ bib records, sets, jobs and job runs.

Everything is guarded by one re-entrant lock (`state.lock`): the HTTP threads, the job
threads and the tests all read and change the same State.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable

from pymarc import Record

from .marc import Marc, datafield, linked_view, ocn_in_035

if TYPE_CHECKING:
    from .webhooks import WebhookProfile

# Fake but realistic-looking ids: IZ MMS IDs end with the institution's code, NZ ones with
# the network's (as in Alma). Sets and job runs get long numeric ids too.
IZ_ID_END = "06391"
NZ_ID_END = "0006390"
SET_ID_END = "0006391"
RUN_ID_END = "0006391"

DEFAULT_NETWORK_CODE = "01SIM_NETWORK"
DEFAULT_INSTITUTION_CODE = "01SIM_INST"


@dataclass(slots=True)
class IzBib:
    """A record in this institution's catalogue."""

    mms_id: str
    marc: Marc  # the institution's own copy; when linked only its local fields are shown
    linked_nz_id: str | None = None
    case: str = ""  # what the seed data meant this record to show ("unique", "multi", ...)
    created_date: str = "2021-03-04Z"
    suppressed: bool = False


@dataclass(slots=True)
class NzBib:
    """A record in the consortium's shared catalogue."""

    mms_id: str
    marc: Marc
    case: str = ""
    created_date: str = "2019-06-12Z"


@dataclass
class StoredSet:
    id: str
    name: str
    content: str = "BIB_MMS"  # BIB_MMS, ITEM, ...
    type: str = "ITEMIZED"  # ITEMIZED or LOGICAL (a logical set's members are fixed here)
    description: str = ""
    query: str = ""
    created_by: str = "exl_api"
    created_date: str = field(default_factory=lambda: now_iso())
    # member id -> description ("" = use the bib's title, as Alma does for bib sets)
    members: dict[str, str] = field(default_factory=dict)
    _order: list[str] | None = None  # cached list for cheap paging of big sets

    def member_ids(self) -> list[str]:
        if self._order is None:
            self._order = list(self.members)
        return self._order

    def changed(self) -> None:
        self._order = None


@dataclass(frozen=True)
class JobDefinition:
    id: str
    name: str
    description: str = ""
    category: tuple[str, str] = ("REPOSITORY", "Repository")
    content: tuple[str, str] = ("BIB_MMS", "All Titles")
    type: str = "MANUAL"
    links_records: bool = False  # True for "Link a set of records to the Network Zone"


@dataclass
class JobRun:
    """One job instance."""

    id: str
    job_id: str
    name: str
    params: dict[str, str]
    by_api: bool
    submitted_by: tuple[str, str]  # (user id, display name)
    submit_time: datetime
    submitted_at: float  # time.monotonic(), for the rolling-hour limit
    status: str = "QUEUED"
    progress: float = 0  # a percentage; Alma gives it with decimals while a run runs
    start_time: datetime | None = None
    end_time: datetime | None = None
    counters: dict[str, int] = field(default_factory=dict)
    # IZ MMS ID -> the NZ records it multi-matched (what the MULTI_MATCHES list gives)
    multi_matches: dict[str, list[str]] = field(default_factory=dict)
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (code, description)

    @property
    def finished(self) -> bool:
        return self.status.startswith("COMPLETED") or self.status in (
            "FAILED",
            "SKIPPED",
            "SYSTEM_ABORTED",
            "USER_ABORTED",
            "MANUAL_HANDLING_REQUIRED",
        )


@dataclass
class JobLimits:
    """Alma's limits on API-started jobs (settable so tests can tighten them)."""

    max_running_api_jobs: int = 3
    max_runs_per_hour: int = 5
    window_seconds: float = 3600.0


@dataclass
class AlmaAnswers:
    """How this Alma answers the five facts `nzbot probe --sandbox` settles (README, "What
    is not confirmed about Alma"). The defaults are what the simulator has always done;
    a test sets the other way to see nzbot cope with it."""

    # The link job's counter keys are "<prefix>.linked", "<prefix>.multi_match", ...
    counter_key_prefix: str = "link_bib_to_nz"
    # GET /conf/jobs/{id}/instances/{iid}/matches?population=MULTI_MATCHES answers for a
    # link job's run (conf.json documents it for import jobs); off, it is refused (402119).
    multi_matches_listed: bool = False
    # PUT /bibs/{mms_id}?stale_version_check=true with no 005 in the record: saved
    # (True) or compared with the stored 005 and refused as a newer version (False).
    no_005_passes_version_check: bool = False
    # The other-system profile: matches the prefixed 035 $a (True), and 024 $a too.
    other_system_matches_035: bool = True
    other_system_matches_024: bool = False
    # Contribution on, a match prefix no record carries: imported (False) or skipped.
    contribute_skips_without_prefix: bool = False


def now_iso(dt: datetime | None = None) -> str:
    dt = dt or datetime.now(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _add(index: dict[str, list[str]], key: str, mms_id: str) -> None:
    ids = index.setdefault(key, [])
    if mms_id not in ids:
        ids.append(mms_id)


def _drop(index: dict[str, list[str]], key: str, mms_id: str) -> None:
    ids = index.get(key)
    if ids and mms_id in ids:
        ids.remove(mms_id)
        if not ids:
            del index[key]


class State:
    """The live catalogue. Helpers here are what tests and the seed use to set things up."""

    def __init__(
        self,
        *,
        network_code: str = DEFAULT_NETWORK_CODE,
        institution_code: str = DEFAULT_INSTITUTION_CODE,
        quota_remaining: int = 500_000,
        link_job_id: str = "M85",
    ) -> None:
        self.lock = threading.RLock()
        self.network_code = network_code
        self.institution_code = institution_code  # also the 852 $a member code on NZ records
        self.quota_remaining = quota_remaining
        self.link_job_id = link_job_id
        self.job_limits = JobLimits()
        self.job_seconds = 1.0  # set by the Simulator; how long a link job takes to run
        # Whether the link job's other-system profile also matches 020/022 standard numbers
        # (unconfirmed on a real Alma): off, the profile matches the prefixed 035 $a only.
        self.other_system_matches_standard_numbers = False
        self.answers = AlmaAnswers()  # the facts nzbot's probe settles, answered one way or the other
        self.iz: dict[str, IzBib] = {}
        self.nz: dict[str, NzBib] = {}
        self.sets: dict[str, StoredSet] = {}
        self.jobs: dict[str, JobDefinition] = {}
        self.runs: dict[str, JobRun] = {}
        self.stop_event = threading.Event()  # tells job threads to give up at shutdown
        # Cleared by a test, runs stay RUNNING when their work is done until it is set again:
        # "three runs at once" then holds however slowly a loaded machine sends requests.
        self.runs_may_finish = threading.Event()
        self.runs_may_finish.set()
        # This institution's Webhooks integration profile (Simulator.send_webhooks): None,
        # no webhook is sent, as in an Alma with no such profile.
        self.webhook: WebhookProfile | None = None
        # NZ search indexes (what SRU and the link job look things up in)
        self._ocn_az: dict[str, list[str]] = {}  # normalised OCN in 035 $a or $z
        self._ocn_a: dict[str, list[str]] = {}  # normalised OCN in 035 $a
        self._other_a: dict[str, list[str]] = {}  # exact 035 $a value
        self._iz_by_nz: dict[str, list[str]] = {}
        self._seq = {"iz": 1_000_000, "nz": 16_000_000, "set": 7_100_000, "run": 8_300_000}
        self.iz_id_end = IZ_ID_END  # each member IZ its own, as Alma's end with the institution's
        # The states sharing this one's NZ (share_nz): a merge relinks their IZ records too.
        self._nz_owner: State = self
        self._nz_members: list[State] = [self]
        self._last_version: datetime | None = None  # the latest 005 given to a saved record

    def share_nz(self, owner: "State") -> None:
        """This IZ becomes another member of `owner`'s Network Zone: one NZ (records,
        indexes, ids) for both, under one lock; IZ records, sets, jobs and quota stay its own."""
        with owner.lock:
            self.lock = owner.lock
            self.nz, self._ocn_az, self._ocn_a, self._other_a = owner.nz, owner._ocn_az, owner._ocn_a, owner._other_a
            self.network_code = owner.network_code
            self._nz_owner = owner
            owner._nz_members.append(self)

    # ---- ids ---------------------------------------------------------------------------
    def _next(self, kind: str) -> int:
        with self.lock:
            self._seq[kind] += 1
            return self._seq[kind]

    def new_iz_id(self) -> str:
        return f"99{self._next('iz')}{self.iz_id_end}"

    def new_nz_id(self) -> str:
        return f"99{self._nz_owner._next('nz')}{NZ_ID_END}"

    def new_set_id(self) -> str:
        return f"{self._next('set')}{SET_ID_END}"

    def new_run_id(self) -> str:
        return f"{self._next('run')}{RUN_ID_END}"

    # ---- records -----------------------------------------------------------------------
    def add_iz(
        self,
        marc: Marc | Record,
        *,
        mms_id: str | None = None,
        linked_nz_id: str | None = None,
        case: str = "",
        suppressed: bool = False,
    ) -> IzBib:
        if isinstance(marc, Record):
            marc = Marc.from_record(marc)
        with self.lock:
            bib = IzBib(mms_id or self.new_iz_id(), marc, None, case, suppressed=suppressed)
            self.iz[bib.mms_id] = bib
            if linked_nz_id:
                self.link(bib.mms_id, linked_nz_id)
            return bib

    def add_nz(self, marc: Marc | Record, *, mms_id: str | None = None, case: str = "") -> NzBib:
        if isinstance(marc, Record):
            marc = Marc.from_record(marc)
        with self.lock:
            bib = NzBib(mms_id or self.new_nz_id(), marc, case)
            self.nz[bib.mms_id] = bib
            self._index_nz(bib)
            return bib

    def next_version(self) -> str:
        """A 005 for a record saved now: later than every 005 given before (Alma's has a
        tenth of a second; two saves in one tenth still get two versions here)."""
        with self.lock:
            stamp = datetime.now(timezone.utc)
            stamp = stamp.replace(microsecond=stamp.microsecond // 100_000 * 100_000)
            if self._last_version is not None and stamp <= self._last_version:
                stamp = self._last_version + timedelta(milliseconds=100)
            self._last_version = stamp
            return stamp.strftime("%Y%m%d%H%M%S.") + str(stamp.microsecond // 100_000)

    def set_nz_marc(self, mms_id: str, marc: Marc) -> None:
        with self.lock:
            bib = self.nz[mms_id]
            self._unindex_nz(bib)
            bib.marc = marc
            self._index_nz(bib)

    def remove_nz(self, mms_id: str) -> None:
        with self.lock:
            bib = self.nz.pop(mms_id)
            self._unindex_nz(bib)

    def nz_ids_by_024(self, value: str) -> list[str]:
        """NZ records whose 024 $a is `value` (read, not indexed: only a probe's test asks)."""
        with self.lock:
            return [m for m, nz in self.nz.items()
                    if value in {v.strip() for f in nz.marc.record().get_fields("024") for v in f.get_subfields("a")}]

    def _index_keys(self, marc: Marc):
        for code, value in marc.ids_035:
            ocn = ocn_in_035(value)
            if ocn:
                yield self._ocn_az, ocn
                if code == "a":
                    yield self._ocn_a, ocn
            if code == "a":
                yield self._other_a, value.strip()

    def _index_nz(self, bib: NzBib) -> None:
        for index, key in self._index_keys(bib.marc):
            _add(index, key, bib.mms_id)

    def _unindex_nz(self, bib: NzBib) -> None:
        for index, key in self._index_keys(bib.marc):
            _drop(index, key, bib.mms_id)

    def nz_ids_by_ocn(self, ocn: str, *, include_z: bool = True) -> list[str]:
        """NZ records whose 035 carries this (normalised) OCN, as Alma's 035_az/035_a index."""
        with self.lock:
            return list((self._ocn_az if include_z else self._ocn_a).get(ocn, ()))

    def nz_ids_by_035a(self, value: str) -> list[str]:
        with self.lock:
            return list(self._other_a.get(value.strip(), ()))

    # ---- links -------------------------------------------------------------------------
    def link(self, iz_id: str, nz_id: str) -> None:
        with self.lock:
            if nz_id not in self.nz:
                raise KeyError(f"no NZ record {nz_id}")
            bib = self.iz[iz_id]
            if bib.linked_nz_id:
                _drop(self._iz_by_nz, bib.linked_nz_id, iz_id)
            bib.linked_nz_id = nz_id
            _add(self._iz_by_nz, nz_id, iz_id)

    def unlink(self, iz_id: str) -> None:
        with self.lock:
            bib = self.iz[iz_id]
            if bib.linked_nz_id:
                _drop(self._iz_by_nz, bib.linked_nz_id, iz_id)
            bib.linked_nz_id = None

    def linked_nz_id_of(self, iz_id: str) -> str | None:
        """The NZ MMS ID an IZ record is linked to, or None."""
        with self.lock:
            return self.iz[iz_id].linked_nz_id

    def iz_ids_linked_to(self, nz_id: str) -> list[str]:
        with self.lock:
            return list(self._iz_by_nz.get(nz_id, ()))

    def shown_marc(self, bib: IzBib) -> Marc:
        """The MARC Alma shows for an IZ record (the NZ's, with local fields, when linked)."""
        with self.lock:
            nz = self.nz.get(bib.linked_nz_id) if bib.linked_nz_id else None
            if nz is None:
                return bib.marc
            return linked_view(bib.marc, nz.marc, bib.mms_id, nz.mms_id, self.network_code)

    def merge_nz(self, keep_id: str, drop_ids: Iterable[str]) -> None:
        """Merge NZ duplicates as the Program Manager would: one record survives.

        The dropped records' OCNs become cancelled numbers (035 $z) on the kept record,
        their member holdings (852) move over, and IZ records linked to them relink.
        """
        with self.lock:
            kept = self.nz[keep_id]
            rec = kept.marc.record()
            have = {ocn_in_035(v) for _, v in kept.marc.ids_035} - {None}
            holders = {f["a"] for f in rec.get_fields("852")}
            for drop_id in drop_ids:
                dropped = self.nz[drop_id]
                for _, value in dropped.marc.ids_035:
                    ocn = ocn_in_035(value)
                    if ocn and ocn not in have:
                        rec.add_ordered_field(datafield("035", "  ", "z", f"(OCoLC){ocn}"))
                        have.add(ocn)
                for f in dropped.marc.record().get_fields("852"):
                    if f["a"] not in holders:
                        rec.add_ordered_field(f)
                        holders.add(f["a"])
                for member in self._nz_owner._nz_members:  # every IZ of the network
                    for iz_id in member.iz_ids_linked_to(drop_id):
                        member.link(iz_id, keep_id)
                self.remove_nz(drop_id)
            self.set_nz_marc(keep_id, Marc.from_record(rec))

    # ---- sets --------------------------------------------------------------------------
    def make_set(
        self,
        name: str,
        members: Iterable[str] = (),
        *,
        content: str = "BIB_MMS",
        type: str = "ITEMIZED",
        description: str = "",
        query: str = "",
        set_id: str | None = None,
        created_by: str = "jsmith",
    ) -> StoredSet:
        with self.lock:
            s = StoredSet(
                id=set_id or self.new_set_id(),
                name=name,
                content=content,
                type=type,
                description=description,
                query=query,
                created_by=created_by,
                members={m: "" for m in members},
            )
            self.sets[s.id] = s
            return s

    # ---- jobs --------------------------------------------------------------------------
    def add_job(self, job: JobDefinition) -> None:
        with self.lock:
            self.jobs[job.id] = job

    def start_job_from_ui(
        self, job_id: str, params: dict[str, str], user: tuple[str, str] = ("jsmith", "Smith, Jane")
    ) -> JobRun:
        """A run started by a person in Alma's UI: not counted against the API job limits."""
        from .jobs import submit  # jobs imports State for typing only

        return submit(self, job_id, params, by_api=False, submitted_by=user)

    def running_api_runs(self) -> list[JobRun]:
        with self.lock:
            return [r for r in self.runs.values() if r.by_api and not r.finished]
