"""Running jobs, above all "Link a set of records to the Network Zone".

A run goes QUEUED -> RUNNING (progress rising as members are processed, spread over
`state.job_seconds`) -> COMPLETED_SUCCESS / COMPLETED_WARNING / COMPLETED_FAILED, in a
background thread, really changing the catalogue as Alma's job would.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from pymarc import Field

from . import webhooks
from .marc import Marc, datafield, is_local_field, ocn_in_035
from .payloads import (
    JOB_CONCURRENCY_LIMIT,
    JOB_HOURLY_LIMIT,
    JOB_MISSING_PARAMETER,
    JOB_INVALID_PARAMETER,
    JOB_OVERLAPS,
)

if TYPE_CHECKING:
    from .state import JobRun, State

UNIQUE_OCLC = "com.exlibris.repository.mms.match.uniqueOCLC"
OTHER_SYSTEM = "com.exlibris.repository.mms.match.OtherSystemOrStandardNumberMatchProfile"
OTHER_SYSTEM_SERIAL = (
    "com.exlibris.repository.mms.match.OtherSystemOrStandardNumberSerialMatchProfile"
)
MATCH_PROFILES = frozenset({UNIQUE_OCLC, OTHER_SYSTEM, OTHER_SYSTEM_SERIAL})

# The link job's report counters: (Alma-style key, description). Alma's real keys are
# unconfirmed (docs/alma.md, "Linking to the NZ"); this is the one place they are defined.
LINK_COUNTERS: tuple[tuple[str, str], ...] = (
    ("link_bib_to_nz.linked", "Records linked to the Network Zone"),
    ("link_bib_to_nz.imported", "Records imported to the Network Zone"),
    ("link_bib_to_nz.skipped", "Records skipped (no match)"),
    ("link_bib_to_nz.multi_match", "Records with multiple matches"),
    ("link_bib_to_nz.already_linked", "Records already linked to the Network Zone"),
    ("link_bib_to_nz.failed", "Records failed"),
)
COUNTER_DESC = dict(LINK_COUNTERS)
LINKED, IMPORTED, SKIPPED, MULTI_MATCH, ALREADY_LINKED, FAILED = (k for k, _ in LINK_COUNTERS)

STATUS_DESC = {
    "QUEUED": "Queued",
    "PENDING": "Pending",
    "INITIALIZING": "Initializing",
    "RUNNING": "Running",
    "FINALIZING": "Finalizing",
    "COMPLETED_SUCCESS": "Completed Successfully",
    "COMPLETED_WARNING": "Completed with Warnings",
    "COMPLETED_FAILED": "Completed with Errors",
    "COMPLETED_NO_BULKS": "Completed - No Bulks",
    "FAILED": "Failed",
    "SYSTEM_ABORTED": "System Aborted",
    "USER_ABORTED": "User Aborted",
}

ALERT_SUCCESS = (
    "alert_general_success",
    "The job completed successfully. For more information view the report details.",
)
ALERT_WARNING = (
    "alert_general_warning",
    "The job completed with warnings. For more information view the report details.",
)
ALERT_FAILED = ("alert_general_failure", "The job failed. For more information view the report details.")
ALERT_NOT_BIB_SET = ("link_bib_to_nz.set_not_bib", "The set does not contain bibliographic records.")
ALERT_NO_MEMBERS = ("alert_no_bulks", "The set is empty; there was nothing to process.")

API_USER = ("exl_api", "Ex Libris, API")


@dataclass
class JobRefused(Exception):
    """Alma refuses to run the job; carries its errorCode and message (HTTP 400)."""

    code: str
    message: str


def _validate(state: "State", job_id: str, params: dict[str, str]) -> None:
    job = state.jobs[job_id]
    set_id = params.get("set_id", "").strip()
    if job.links_records and not set_id:
        raise JobRefused(JOB_MISSING_PARAMETER, "Mandatory parameter set_id is missing.")
    if set_id and set_id not in state.sets:
        raise JobRefused(JOB_INVALID_PARAMETER, f"Parameter set_id value {set_id} is not valid.")
    if not job.links_records:
        return
    for name in ("non_serial_match_profile", "serial_match_profile"):
        profile = params.get(name, UNIQUE_OCLC)
        if profile not in MATCH_PROFILES:
            raise JobRefused(JOB_INVALID_PARAMETER, f"Parameter {name} value {profile} is not valid.")
    for name in ("contribute_nz", "ignoreResourceType"):
        if params.get(name, "false").lower() not in ("true", "false"):
            raise JobRefused(JOB_INVALID_PARAMETER, f"Parameter {name} value {params[name]} is not valid.")


def _check_overlap(state: "State", job_id: str, params: dict[str, str]) -> None:
    """Alma refuses a run of a job while any instance of that job is still running (60347),
    whatever its set and however it was started (issue 23, from Alma's public answers: the
    refusal names the job, not the set). So the link job runs one instance at a time; the
    limit of concurrent API jobs counts across different jobs."""
    for run in state.runs.values():
        if run.job_id == job_id and not run.finished:
            raise JobRefused(JOB_OVERLAPS, "Job overlapps with running job - cannot execute.")


def _check_limits(state: "State", job_id: str) -> None:
    limits = state.job_limits
    if len(state.running_api_runs()) >= limits.max_running_api_jobs:
        raise JobRefused(
            JOB_CONCURRENCY_LIMIT,
            f"The maximum number of concurrently running API jobs ({limits.max_running_api_jobs})"
            " has been reached. Please try again later.",
        )
    since = time.monotonic() - limits.window_seconds
    recent = [
        r for r in state.runs.values() if r.by_api and r.job_id == job_id and r.submitted_at > since
    ]
    if len(recent) >= limits.max_runs_per_hour:
        raise JobRefused(
            JOB_HOURLY_LIMIT,
            f"Job {job_id} was already run {len(recent)} times in the last hour; the limit is "
            f"{limits.max_runs_per_hour} runs per hour. Please try again later.",
        )


def submit(
    state: "State",
    job_id: str,
    params: dict[str, str],
    *,
    by_api: bool,
    submitted_by: tuple[str, str] = API_USER,
) -> "JobRun":
    """Validate, apply Alma's limits (API runs only), record the run and start its thread."""
    from .state import JobRun

    with state.lock:
        if job_id not in state.jobs:
            raise KeyError(job_id)
        _validate(state, job_id, params)
        if by_api:
            _check_limits(state, job_id)
            _check_overlap(state, job_id, params)
        job = state.jobs[job_id]
        now = datetime.now(timezone.utc)
        label = params.get("job_name") or job.name
        how = "via API" if by_api else "via UI"
        run = JobRun(
            id=state.new_run_id(),
            job_id=job_id,
            name=f"{label} - {how} - {now:%Y-%m-%d %H:%M}",
            params=dict(params),
            by_api=by_api,
            submitted_by=submitted_by,
            submit_time=now,
            submitted_at=time.monotonic(),
        )
        state.runs[run.id] = run
    threading.Thread(target=_run, args=(state, run), daemon=True, name=f"job-{run.id}").start()
    return run


def _sleep(state: "State", seconds: float) -> bool:
    """Sleep unless the simulator is stopping; False means stop now."""
    return not state.stop_event.wait(max(0.0, seconds))


def _finish(state: "State", run: "JobRun", status: str, alerts: list[tuple[str, str]]) -> None:
    with state.lock:
        run.status = status
        run.alerts = alerts
        if status in ("COMPLETED_SUCCESS", "COMPLETED_WARNING"):
            run.progress = 100
        run.end_time = datetime.now(timezone.utc)
    webhooks.job_ended(state, run)  # outside the lock: the listener may ask about the run at once


def _run(state: "State", run: "JobRun") -> None:
    seconds = state.job_seconds
    if not _sleep(state, seconds * 0.1):  # time spent QUEUED
        return
    with state.lock:
        run.status = "RUNNING"
        run.start_time = datetime.now(timezone.utc)
        job = state.jobs[run.job_id]
        the_set = state.sets.get(run.params.get("set_id", ""))
        # Alma works on the set's members as they were when the job started.
        members = list(the_set.member_ids()) if the_set else []
        if job.links_records:
            run.counters = {key: 0 for key, _ in LINK_COUNTERS}
    if job.links_records and (the_set is None or the_set.content != "BIB_MMS"):
        _finish(state, run, "COMPLETED_FAILED", [ALERT_NOT_BIB_SET, ALERT_FAILED])
        return
    if not job.links_records:
        _sleep(state, seconds * 0.8)
        _finish(state, run, "COMPLETED_SUCCESS", [ALERT_SUCCESS])
        return
    if not members:
        _finish(state, run, "COMPLETED_NO_BULKS", [ALERT_NO_MEMBERS])
        return

    steps = min(len(members), 20)
    chunk = -(-len(members) // steps)
    done = 0
    for start in range(0, len(members), chunk):
        with state.lock:
            for mms_id in members[start : start + chunk]:
                outcome = link_one(state, mms_id, run.params, run.multi_matches)
                run.counters[outcome] += 1
            done = min(len(members), start + chunk)
            run.progress = min(99.0, round(done * 100 / len(members), 3))
        if not _sleep(state, seconds * 0.8 / steps):
            return
    while not state.runs_may_finish.wait(0.05):  # held by a test (State.runs_may_finish)
        if state.stop_event.is_set():
            return
    problems = run.counters[MULTI_MATCH] + run.counters[FAILED]
    if problems:
        _finish(state, run, "COMPLETED_WARNING", [ALERT_WARNING])
    else:
        _finish(state, run, "COMPLETED_SUCCESS", [ALERT_SUCCESS])


def _candidates(state: "State", marc: Marc, profile: str, prefix: str) -> set[str]:
    if profile == UNIQUE_OCLC:
        # IZ side: only 035 $a values that really are OCNs; cancelled $z numbers don't
        # count. NZ side: 035 $a or $z (Alma's 035_az index).
        ocns = {ocn_in_035(v) for v in marc.values_035("a")} - {None}
        return {nz for ocn in ocns for nz in state.nz_ids_by_ocn(ocn)}
    answers = state.answers
    values = {v.strip() for v in marc.values_035("a") if v.strip().startswith(prefix)}
    found = {nz for v in values for nz in state.nz_ids_by_035a(v)} if answers.other_system_matches_035 else set()
    if answers.other_system_matches_024:
        found |= {nz for f in marc.record().get_fields("024") for v in f.get_subfields("a")
                  for nz in state.nz_ids_by_024(v.strip())}
    if state.other_system_matches_standard_numbers:
        found |= _by_standard_numbers(state, marc)
    return found


def _by_standard_numbers(state: "State", marc: Marc) -> set[str]:
    """What the other-system profile might also match on a real Alma (unconfirmed:
    docs/alma.md, "Linking to the NZ"): NZ records sharing an ISBN or ISSN (020/022 $a). Off unless a test asks."""
    def numbers(record) -> set[str]:
        return {v.split()[0] for tag in ("020", "022") for f in record.get_fields(tag)
                for v in f.get_subfields("a") if v.strip()}

    mine = numbers(marc.record())
    if not mine:
        return set()
    return {m for m, nz in state.nz.items() if mine & numbers(nz.marc.record())}


def link_one(state: "State", mms_id: str, params: dict[str, str],
             multi_matches: dict[str, list[str]] | None = None) -> str:
    """Process one set member; returns the counter key of what happened. A multi-match's
    NZ records go into `multi_matches` (the run's, for the MULTI_MATCHES list)."""
    bib = state.iz.get(mms_id)
    if bib is None:
        return FAILED
    if bib.linked_nz_id:
        return ALREADY_LINKED
    if not bib.marc.readable:
        # Assumed (unconfirmed): Alma's job reports a record it cannot process among the
        # failed and leaves it unlinked, rather than linking a record whose MARC is broken.
        return FAILED
    kind = "serial" if bib.marc.is_serial else "non_serial"
    profile = params.get(f"{kind}_match_profile", UNIQUE_OCLC)
    prefix = params.get(f"{kind}_match_prefix", "")
    found = _candidates(state, bib.marc, profile, prefix)
    if len(found) == 1:
        state.link(mms_id, found.pop())
        return LINKED
    if len(found) > 1:
        if multi_matches is not None:
            multi_matches[mms_id] = sorted(found)
        return MULTI_MATCH
    if _contributes(state, bib.marc, profile, prefix, params):
        nz_id = state.new_nz_id()
        state.add_nz(_contributed(state, bib.marc, nz_id), mms_id=nz_id, case="contributed")
        state.link(mms_id, nz_id)
        return IMPORTED
    return SKIPPED


def _contributes(state: "State", marc: Marc, profile: str, prefix: str, params: dict[str, str]) -> bool:
    if params.get("contribute_nz", "false").lower() != "true":
        return False
    if profile == UNIQUE_OCLC or not state.answers.contribute_skips_without_prefix:
        return True
    return any(v.strip().startswith(prefix) for v in marc.values_035("a"))


def _contributed(state: "State", marc: Marc, nz_id: str) -> Marc:
    """The IZ record as it lands in the NZ: without local fields, held by this member."""
    rec = marc.record()
    for f in list(rec.get_fields()):
        if f.tag == "001" or is_local_field(f):
            rec.remove_field(f)
    rec.add_ordered_field(Field(tag="001", data=nz_id))
    rec.add_ordered_field(datafield("852", "01", "a", state.institution_code))
    return Marc.from_record(rec)
