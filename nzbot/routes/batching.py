"""Decisions gathered into shared runs of the link job: Alma allows 5 runs of it an hour,
so decisions waiting for a run join one of theirs still queued (Alma at its limits), or
go into a new run per route and match prefix once the oldest has waited `batch_seconds`
for others (or a run is full), queued within Alma's job limits like any link job."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta, timezone

from alma.errors import AlmaBlocked, AlmaError
from nzbot.routes.casework import CASES_USER, CaseWork
from nzbot.states import CaseState, JobState, RouteKind
from nzbot.store import Case

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # records per link-job run made from decisions


def gather_into_runs(work: CaseWork) -> None:
    waiting = [c for c in work.store.cases(CaseState.LINKING)
               if c.linking_job is None and c.route.by_link_job and work.readable(c)]
    groups: dict[tuple[str, str], list[Case]] = {}
    for case in waiting:
        groups.setdefault((case.route.kind, case.route.prefix), []).append(case)
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=work.batch_seconds)
    for (kind, prefix), cases in groups.items():
        cases = _join_queued_run(work, kind, prefix, cases)
        if not cases:
            continue
        oldest = min(datetime.fromisoformat(c.decided_at) for c in cases)
        if oldest > cutoff and len(cases) < BATCH_SIZE:
            continue  # give other decisions a moment to join this run
        for start in range(0, len(cases), BATCH_SIZE):
            try:
                _run_batch(work, kind, prefix, cases[start:start + BATCH_SIZE])
            except AlmaBlocked:
                raise  # every batch alike: the step stops and says so once
            except AlmaError as exc:  # this batch waits for the next round; other batches go on
                log.warning("cases: a batch of %d: %s", len(cases[start:start + BATCH_SIZE]), exc)


def _join_queued_run(work: CaseWork, kind: str, prefix: str, cases: list[Case]) -> list[Case]:
    """Adds decisions to a run made from earlier decisions that Alma has not started yet
    (same route), saving runs of the link job. Returns the decisions left over."""
    contribute, run_prefix = kind == RouteKind.CONTRIBUTE, prefix if kind != RouteKind.UNIQUE else ""
    for job in work.store.link_jobs(JobState.QUEUED, JobState.STARTING):
        room = BATCH_SIZE - job.set_size
        if (not cases or room <= 0 or job.contribute != contribute
                or job.match_prefix != run_prefix or not work.store.cases_in_job(job.id)):
            continue
        joining = cases[:room]
        if not work.link_jobs.add_to_queued(job.id, [c.iz_mms_id for c in joining]):
            continue  # Alma started it meanwhile
        cases = cases[room:]
        for case in joining:
            work.move(case, CaseState.LINKING, CaseState.LINKING, show=False, linking_job=job.id)
        work.store.audit(CASES_USER, "case_batch_joined", f"set {job.set_id}", JobState.QUEUED,
                         f"{len(joining)} more cases")
    return cases


def _run_batch(work: CaseWork, kind: str, prefix: str, cases: list[Case]) -> None:
    # Alma refuses a taken set name: the name is unique to these decisions (a case decided
    # again makes another), and the same after a crash, so a retry reuses the set it made.
    batch = hashlib.sha1(";".join(f"{c.id}:{c.decided_at}" for c in cases).encode()).hexdigest()[:8]
    name = f"nzbot cases {date.today().isoformat()} {cases[0].id}-{cases[-1].id} {batch}"
    created = work.alma.create_set(name, [c.iz_mms_id for c in cases], reuse=True,
                                   description="Records linked by the Program Manager's decisions")
    job = work.store.add_link_job(
        set_id=created.id, set_name=created.name, set_size=len(cases),
        contribute=int(kind == RouteKind.CONTRIBUTE), match_prefix=prefix if kind != RouteKind.UNIQUE else "",
        requested_by=cases[0].decided_by or CASES_USER, channel="", state=JobState.QUEUED,
        reconciled=1,  # its records are the cases themselves: nothing to reconcile
    )
    for case in cases:
        work.move(case, CaseState.LINKING, CaseState.LINKING, show=False, linking_job=job.id)
    work.store.audit(CASES_USER, "case_batch_queued", f"set {created.id}", JobState.QUEUED,
                     f"{len(cases)} cases, route {kind}")
