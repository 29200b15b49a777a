"""Link jobs, from a cataloger's request to the report in the channel. Slack-free: the
listeners, the scheduler and the CLI call this, and it speaks to Slack only through a
Notifier.

A link job moves through these states (nzbot/states.py: JobState, and JOB_MOVES, the one
table of moves the store checks), each move a compare-and-set in SQLite so that two
threads, or a restart, never act twice:

    queued -> starting -> running -> finished -> reporting -> reported
       \\-> refused (Alma will never run it: the set is gone, or bad parameters)

Alma refuses a 4th concurrent API job and a 6th run of one job within an hour; such a
request stays queued and is started, in order, when Alma allows.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from alma.client import AlmaClient
from alma.errors import (
    AlmaBlocked,
    AlmaError,
    AlmaRateLimited,
    AlmaRequestError,
    AlmaServerError,
    AlmaUnavailable,
    BadInput,
    JobLimitReached,
    JobStartUncertain,
    SetNotFound,
)
from alma.matching import Match, Verdict
from alma.models import JobInstance, LinkJobParameters
from alma.preview import SetPreview, match_records, preview_set
from nzbot.blocked import BlockedWork
from nzbot.report import JobReport, job_report
from nzbot.facts import AlmaFacts, counter_kinds, multi_matches_listed
from nzbot.rounds import OneAtATime, run_round
from nzbot.states import JOB_ANNOUNCED, CaseState, JobState
from nzbot.store import AuditLine, LinkJob, NewCase, Store, now

log = logging.getLogger(__name__)

ALMA_UI = "alma"  # requested_by for runs started in Alma's own UI
# Alma unreachable, in trouble (5xx), rate-limiting, or blocking background work (a
# permission, the quota): a re-check stopped by these waits for Alma (resuming where it
# stopped) and is not counted as one of its tries.
WAITS_ON_ALMA = (AlmaUnavailable, AlmaServerError, AlmaRateLimited, AlmaBlocked)
# Discovery lists runs from the newest it has seen less this much, for runs Alma lists
# late or a clock a little behind (Alma itself filters by submission day).
DISCOVERY_MARGIN = timedelta(hours=1)
@dataclass(frozen=True)
class Scheduled:
    """A request made by a schedule's run (nzbot/schedules.py), not by a person at the keyboard."""

    run_id: int  # the schedule's run: at most one link job each
    words: str  # "schedule 3, daily 02:00", said in the start message


class Notifier(Protocol):
    """What the workflow needs to tell people; the bot implements it with Slack."""

    def link_job_changed(self, job: LinkJob) -> str | None:
        """Posts the start message (first time) or edits it; returns its ts when posted."""

    def report_posted(self, job: LinkJob) -> str | None:
        """The ts of this job's report if it was already posted (after a crash), else None."""

    def post_report(self, job: LinkJob, report: JobReport) -> str:
        """Posts the completion report in the start message's thread; returns its ts."""

    def cases_found(self, job: LinkJob, case_ids: list[int]) -> None:
        """Multi-matches from this job were recorded as cases."""

    def recheck_failed(self, job: LinkJob, tries: int, reason: str) -> None:
        """The re-check after this job failed `tries` times and was given up."""

    def unreadable_found(self, job: LinkJob, mms_ids: list[str]) -> None:
        """Members of this job's set whose MARC cannot be read: a cataloger must fix them."""

    def alma_blocked(self, text: str) -> None:
        """Background work waits on Alma (a permission the key lacks, the quota spent):
        told once per blockage, not every round."""


class LinkJobs:
    # A failed re-check of a job's set is tried this many times in all, this far apart.
    recheck_tries = 3
    recheck_wait_seconds = 60.0

    def __init__(self, store: Store, alma: AlmaClient, notifier: Notifier) -> None:
        self.store = store
        self.alma = alma
        self.background = alma.for_background()
        self.notifier = notifier
        self.blocked = BlockedWork(alma, notifier)  # a permission or the quota: said once
        # One starter at a time (a request's thread and the scheduler's), so that queued
        # requests start in the order they were made.
        self._starting = threading.Lock()
        # One announcer at a time: two threads seeing a job without a start message must
        # not both post one.
        self._announcing = threading.Lock()
        # One round at a time, the scheduler's or one Alma's JOB_END webhook asks for: a
        # report's claim (finished -> reporting) survives a crash, but a second round seeing
        # the claimed job would look in Slack before the first had posted, and post again.
        self._rounds = OneAtATime()

    # -- a cataloger asks ----------------------------------------------------------------

    def request(self, set_ref: str, requested_by: str, channel: str, contribute: bool = False,
                scheduled: Scheduled | None = None) -> LinkJob:
        """Checks the set and queues a run of the link job on it; starts it if Alma allows.
        Bad input (unknown set, not bib records, empty) raises and changes nothing."""
        alma = self.background if scheduled else self.alma  # nobody waits on a schedule: the quota floor holds
        found = alma.find_set(set_ref)
        if found.number_of_members == 0:
            raise BadInput(f"Set {found.name!r} ({found.id}) is empty: there is nothing to link.")
        job = self.store.add_link_job(
            set_id=found.id,
            set_name=found.name,
            set_size=found.number_of_members,
            contribute=int(contribute),
            requested_by=requested_by,
            channel=channel,
            state=JobState.QUEUED,
            **({"schedule_run": scheduled.run_id, "scheduled": scheduled.words} if scheduled else {}),
        )
        self.store.audit(requested_by, "link_requested", f"set {found.id}", JobState.QUEUED,
                         f"{found.name}; contribute={contribute}")
        self._announce(job)
        with self._starting:
            try:
                self._start_queued()
            except AlmaBlocked as exc:  # queued, its message says why it waits
                self.blocked.failed("link request", exc)
            # Read under the starter's lock: a scheduler round trying Alma at this moment
            # would show the request as starting, which the cataloger would read as started.
            return self.store.link_job(job.id)

    # -- the scheduler's rounds ----------------------------------------------------------

    def tick(self) -> None:
        """One round of the scheduler: each step on its own, so one failing (Alma down)
        never stops the others. Alma's JOB_END webhook asks for one at once (bot/alma_webhook.py)."""
        self._rounds.run(self._round)

    def _round(self) -> None:
        run_round(log, "link jobs", (self.resume_starting, self.announce_missing, self.start_queued,
                                     self.poll_running, self.report_finished, self.reconcile_reported),
                  on_alma_error=self.blocked.failed)
        self.blocked.forget_cleared()  # what Alma let through since is over

    def watches(self, job_id: str, instance_id: str) -> bool:
        """Whether this run of an Alma job is one nzbot started or follows (found in Alma's
        UI): a JOB_END webhook about any other run is none of nzbot's business."""
        return bool(job_id and instance_id) and self.store.link_job_for_instance(job_id, instance_id) is not None

    def start_queued(self) -> None:
        """Starts queued requests in order, stopping at the first Alma refuses for now."""
        with self._starting:
            self._start_queued()

    def _start_queued(self) -> None:
        queued = self.store.link_jobs(JobState.QUEUED)
        for position, job in enumerate(queued):
            if not self.store.move_link_job(job.id, JobState.QUEUED, JobState.STARTING, started_at=now()):
                continue  # another thread took it
            try:
                run = self.alma.run_link_job(link_parameters(job))
            except JobLimitReached as exc:
                self._back_to_queue(job, f"Alma is at its job limit ({exc.message}); "
                                         "it will start automatically when Alma allows.")
                for ahead, waiting in enumerate(queued[position + 1:], start=1):
                    self._note(waiting, f"Alma is at its job limit; it will start automatically "
                                        f"after {ahead} request(s) ahead of it.")
                return
            except (AlmaUnavailable, JobStartUncertain) as exc:
                # We cannot tell whether Alma started it: resume_starting finds out.
                log.warning("link job %s: start uncertain: %s", job.id, exc)
                return
            except AlmaBlocked as exc:  # a permission or the quota: waits, never refused
                self._back_to_queue(job, f"Waiting: {exc}")
                raise
            except (AlmaRequestError, BadInput) as exc:
                self.store.move_link_job(job.id, JobState.STARTING, JobState.REFUSED, note=str(exc))
                self.store.audit(job.requested_by, "link_started", f"set {job.set_id}", JobState.REFUSED, str(exc))
                self._announce(self.store.link_job(job.id))
                continue
            except AlmaError as exc:  # 5xx or rate limit after retries: try again later
                self._back_to_queue(job, f"Alma could not start it yet ({exc.message}); retrying.")
                return
            self.store.move_link_job(job.id, JobState.STARTING, JobState.RUNNING, job_id=run.job_id,
                                     instance_id=run.instance_id, status="QUEUED", note=None)
            self.store.audit(job.requested_by, "link_started", f"set {job.set_id}", JobState.RUNNING,
                             f"job {run.job_id} instance {run.instance_id}")
            self._announce(self.store.link_job(job.id))

    def add_to_queued(self, job_row_id: int, mms_ids: list[str]) -> bool:
        """Adds records to the set of a request Alma has not started yet. False when it
        has started meanwhile: its set is Alma's now. Holds the starter back meanwhile,
        so a run never starts with half its records."""
        with self._starting:
            job = self.store.link_job(job_row_id)
            if job.state != JobState.QUEUED:
                return False
            self.background.add_set_members(job.set_id, mms_ids)
            self.store.update_link_job(job.id, set_size=job.set_size + len(mms_ids))
            return True

    def resume_starting(self) -> None:
        """After a crash between asking Alma to run a job and recording the answer: adopt
        an unknown API run of the link job submitted since, or queue the request again
        (a second run of the link job on a set is harmless: linked records are skipped)."""
        # Under the starter's lock: a request's thread may be waiting out 429s on its start
        # right now; its "starting" job is not stuck, and queueing it again ran Alma twice.
        with self._starting:
            self._resume_starting()

    def _resume_starting(self) -> None:
        stuck = self.store.link_jobs(JobState.STARTING)
        if not stuck:
            return
        link_job = self.alma.find_link_job()
        for job in stuck:
            since = datetime.fromisoformat(job.started_at or job.created_at)
            unknown = [
                i for i in self.alma.list_job_instances(link_job.id, since)
                if self.store.link_job_for_instance(link_job.id, i.id) is None
                and not _before(i.submit_time, since)
            ]
            if len(unknown) == 1:
                self.store.move_link_job(job.id, JobState.STARTING, JobState.RUNNING, job_id=link_job.id,
                                         instance_id=unknown[0].id, status=unknown[0].status)
            else:
                self.store.move_link_job(job.id, JobState.STARTING, JobState.QUEUED)

    def poll_running(self) -> None:
        for job in self.store.link_jobs(JobState.RUNNING):
            try:
                instance = self.background.get_job_instance(job.job_id, job.instance_id)
            except AlmaBlocked:
                raise  # every run alike: the round stops and says so once
            except AlmaRequestError as exc:  # this run only (Alma down stops the round)
                log.warning("link job %s: instance %s: %s", job.id, job.instance_id, exc)
                continue
            self._record_instance(job, instance)

    def report_finished(self) -> None:
        """Posts each finished job's report exactly once, even across crashes: the report
        is claimed before posting, and a claimed one is looked for in Slack first."""
        for job in self.store.link_jobs(JobState.FINISHED, JobState.REPORTING):
            if job.state == JobState.FINISHED and not self.store.move_link_job(job.id, JobState.FINISHED, JobState.REPORTING):
                continue
            job = self.store.link_job(job.id)
            report_ts = self.notifier.report_posted(job)
            if report_ts is None:
                report_ts = self.notifier.post_report(job, job_report(job, counter_kinds(AlmaFacts.of(self.store))))
            if self.store.move_link_job(job.id, JobState.REPORTING, JobState.REPORTED, report_ts=report_ts, reported_at=now()):
                self.store.audit("nzbot", "job_reported", f"instance {job.instance_id}", job.status or "")
                self._announce(self.store.link_job(job.id))

    def reconcile_reported(self) -> None:
        """After a job, finds the set's members still unlinked that have several NZ
        matches and records each as a case for the Program Manager: one pass per job,
        resumed where it stopped after a crash or an Alma outage, then one message in
        the job's thread with the number of its cases as the database holds them. A pass
        that fails (not Alma unreachable or blocking) is tried at most RECHECK_TRIES times,
        RECHECK_WAIT_SECONDS apart, then the job's thread is told, once."""
        for job in self.store.link_jobs(JobState.REPORTED):
            if job.reconciled or not self._recheck_due(job):
                continue
            try:
                self.reconcile(job)
            except WAITS_ON_ALMA:  # not the re-check's fault: waited out, said once, not counted
                raise
            except Exception as exc:  # an answer we cannot read, a refusal, or a bug
                self._recheck_failed(job, exc)

    def reconcile(self, job: LinkJob) -> None:
        """The re-check of one reported job's set, from where its pass stopped."""
        if not self.store.recheck(job.id).done:
            self._recheck_pass(job)
        case_ids = self.store.case_ids_of_job(job.id)
        unreadable = list(self.store.recheck(job.id).unreadable)
        if case_ids:
            self.notifier.cases_found(self.store.link_job(job.id), case_ids)
        if unreadable:
            self.notifier.unreadable_found(self.store.link_job(job.id), unreadable)
        self.store.update_link_job(job.id, reconciled=1)

    def _recheck_due(self, job: LinkJob) -> bool:
        """False while a failed re-check waits for its next try."""
        failed_at = self.store.recheck(job.id).failed_at
        if failed_at is None:
            return True
        waited = datetime.now(timezone.utc) - datetime.fromisoformat(failed_at)
        return waited >= timedelta(seconds=self.recheck_wait_seconds)

    def _recheck_failed(self, job: LinkJob, exc: Exception) -> None:
        tries = self.store.recheck(job.id).tries + 1
        if isinstance(exc, AlmaError):
            log.warning("link job %s: re-check failed (try %d of %d): %s", job.id, tries,
                        self.recheck_tries, exc)
        else:
            log.exception("link job %s: re-check failed (try %d of %d)", job.id, tries,
                          self.recheck_tries)
        if tries < self.recheck_tries:
            self.store.update_recheck(job.id, tries=tries, failed_at=now())
            return
        self.store.update_link_job(job.id, reconciled=1)  # given up: no more tries
        self.store.update_recheck(job.id, tries=0, failed_at=None)
        self.store.audit("nzbot", "recheck_failed", f"set {job.set_id}", "given up",
                         f"{tries} tries; {type(exc).__name__}")
        reason = exc.message if isinstance(exc, AlmaError) else "an error inside nzbot (it has been logged)"
        try:
            self.notifier.recheck_failed(self.store.link_job(job.id), tries, reason)
        except Exception:
            log.exception("link job %s: could not say that its re-check failed", job.id)

    def _recheck_pass(self, job: LinkJob) -> None:
        """Reads the set once, chunk by chunk from the position recorded, and records each
        chunk's multi-matches as cases together with the position reached, in one
        transaction: a pass stopped anywhere resumes at the first chunk not recorded."""
        position = self.store.recheck(job.id).position
        try:
            found = self.background.get_set(job.set_id)
        except SetNotFound:  # deleted since: nothing left to re-check
            self.store.update_recheck(job.id, done=True)
            return
        multi: list[tuple[str, Match]] = []
        unreadable: list[str] = []

        def chunk_done(done: int, total: int) -> None:
            new_cases = [NewCase(mms_id, match.iz.title if match.iz else "", match.candidates, match.iz)
                         for mms_id, match in multi]
            with self.store.writing():
                opened = self.store.open_cases(new_cases, job.id)
                # no case for an unreadable record: its MARC must be corrected in Alma first
                # (the job left it too)
                self.store.audit_all([
                    *(AuditLine("nzbot", "record_unreadable", f"record {mms_id}", "skipped",
                                f"link job {job.id}: its MARC cannot be read") for mms_id in unreadable),
                    *(AuditLine("nzbot", "case_opened", f"record {case.iz_mms_id}", CaseState.OPEN,
                                f"{len(case.candidates)} candidates") for case in opened)])
                self.store.update_recheck(job.id, position=done, more_unreadable=unreadable)
            multi.clear()
            unreadable.clear()

        listed = self._listed_multi_matches(job)
        if listed is not None:  # only the run's multi-matches are read again, not the whole set
            total = len(listed)
            matches = match_records(self.background, listed, chunk_done, start=position)
        else:
            total = found.number_of_members
            matches = preview_set(self.background, SetPreview(found, total), chunk_done, start=position)
        for mms_id, match in matches:
            if match is not None and match.verdict is Verdict.UNREADABLE:
                unreadable.append(mms_id)
            elif match is not None and match.verdict is Verdict.MULTI:
                multi.append((mms_id, match))
        chunk_done(total, total)  # nothing left over; marks the end
        self.store.update_recheck(job.id, done=True)

    def _listed_multi_matches(self, job: LinkJob) -> list[str] | None:
        """The IZ records Alma lists as the run's multi-matches, where a probe learned that
        Alma lists them for the link job (nzbot/facts.py); None: read the whole set (no such
        fact, a run not known, or Alma would not list it now). The records are still looked
        up again: one may have been linked since, or its NZ duplicates merged."""
        if not (job.job_id and job.instance_id and multi_matches_listed(AlmaFacts.of(self.store))):
            return None
        try:
            return [m.iz_mms_id for m in self.background.multi_matches(job.job_id, job.instance_id) if m.iz_mms_id]
        except AlmaBlocked:
            raise  # the quota or a refusal: the pass waits, as a set's reading would
        except AlmaError as exc:
            log.warning("link job %s: Alma did not list the run's multi-matches (%s); reading the whole set",
                        job.id, exc)
            return None

    def discover_ui_runs(self, since: datetime) -> datetime:
        """Link-job runs started in Alma's own UI: tracked and reported like ours. Returns
        the `since` for the next round: the newest run seen, less a margin, so that each
        round lists only the latest runs however many there have been."""
        link_job = self.background.find_link_job()
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
        newest = since
        for instance in self.background.list_job_instances(link_job.id, since):
            submitted = _alma_time(instance.submit_time)
            if submitted is not None:  # never beyond our own clock: Alma's may be ahead
                submitted = min(submitted, datetime.now(timezone.utc))
            if submitted is not None and submitted - DISCOVERY_MARGIN > newest:
                newest = submitted - DISCOVERY_MARGIN
            if _before(instance.submit_time, since):
                continue
            # Under the starter's lock: else a start of ours could record this very run
            # between the two looks below, and the run would become a second job row.
            with self._starting:
                if self.store.link_job_for_instance(link_job.id, instance.id) is not None:
                    continue
                if self.store.link_jobs(JobState.STARTING):
                    return since  # one of ours may be this run: resume_starting decides first
                job = self.store.add_link_job(
                    set_id="", set_name=instance.name or "a set chosen in Alma", set_size=0,
                    requested_by=ALMA_UI, channel="", state=JobState.RUNNING, reconciled=1,
                    job_id=link_job.id, instance_id=instance.id, status=instance.status,
                    started_at=instance.start_time or now(),
                )
            self.store.audit(ALMA_UI, "ui_run_found", f"instance {instance.id}", JobState.RUNNING)
            self._announce(job)
            self._record_instance(job, instance)
        return newest

    def announce_missing(self) -> None:
        """Start messages that could not be posted (Slack down) are posted now."""
        for job in self.store.link_jobs(*JOB_ANNOUNCED):
            if not job.message_ts:
                self._announce(job)

    # -- helpers -------------------------------------------------------------------------

    def _record_instance(self, job: LinkJob, instance: JobInstance) -> None:
        if instance.finished:
            moved = self.store.move_link_job(
                job.id, JobState.RUNNING, JobState.FINISHED, status=instance.status, progress=100,
                counters=instance.counters, alerts=list(instance.alerts),
                finished_at=instance.end_time or now(),
                started_at=instance.start_time or job.started_at,
            )
            if moved:
                self.store.audit(job.requested_by, "link_finished", f"instance {instance.id}", instance.status)
                self._announce(self.store.link_job(job.id))
        elif instance.progress != job.progress or instance.status != job.status:
            self.store.update_link_job(job.id, progress=instance.progress, status=instance.status)
            self._announce(self.store.link_job(job.id))

    def _back_to_queue(self, job: LinkJob, note: str) -> None:
        self.store.move_link_job(job.id, JobState.STARTING, JobState.QUEUED, note=note)
        if note != job.note:
            self._announce(self.store.link_job(job.id))

    def _note(self, job: LinkJob, note: str) -> None:
        """Says why a queued request waits, when that changed."""
        if note != job.note and self.store.move_link_job(job.id, JobState.QUEUED, JobState.QUEUED, note=note):
            self._announce(self.store.link_job(job.id))

    def _announce(self, job: LinkJob) -> None:
        with self._announcing:
            job = self.store.link_job(job.id)  # as it is now, message ts included
            try:
                ts = self.notifier.link_job_changed(job)
            except Exception:  # Slack down: announce_missing tries again
                log.exception("link job %s: could not post or update its message", job.id)
                return
            if ts and not job.message_ts:
                self.store.update_link_job(job.id, message_ts=ts)


def link_parameters(job: LinkJob) -> LinkJobParameters:
    """The guidance's parameters (Unique OCLC, resource type not ignored, contribute only
    when asked), or the 035 prefix match a case's link uses."""
    if job.match_prefix:
        return LinkJobParameters.other_system_number(job.set_id, job.match_prefix, contribute=job.contribute)
    return LinkJobParameters(set_id=job.set_id, contribute=job.contribute)


def _alma_time(alma_time: str) -> datetime | None:
    """An Alma timestamp (2026-12-01T10:00:00Z), aware; None when absent or unreadable."""
    try:
        when = datetime.fromisoformat((alma_time or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _before(alma_time: str, since: datetime) -> bool:
    when = _alma_time(alma_time)
    if when is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return when < since - timedelta(seconds=1)
