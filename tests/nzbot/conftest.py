"""The Slack-free workflow in-process: the real LinkJobs and Cases on a Store in a temporary
file, talking HTTP to the Alma simulator, telling people through notifiers that record what
they were asked to say. No Slack, no bot HTTP, no scheduler: the test turns the rounds."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import pytest

from alma.simulator import Simulator, seed
from nzbot.cases import Cases
from nzbot.linkjobs import LinkJobs
from nzbot.report import JobReport
from nzbot.store import Case, LinkJob, Store
from tests.conftest import API_KEY, client_for

PM = "UPROGMGR1"
CATALOGER = "UCATALOG1"
REPORT = "CREPORT01"


@dataclass
class RecordingNotifier:
    """Both notifiers the workflow speaks through, recording every call. `fail` makes the
    named method raise (Slack down) until cleared."""

    changed: list[LinkJob] = field(default_factory=list)
    reports: list[tuple[LinkJob, JobReport]] = field(default_factory=list)
    found: list[tuple[LinkJob, list[int]]] = field(default_factory=list)
    unreadable: list[tuple[LinkJob, list[str]]] = field(default_factory=list)
    shown: list[Case] = field(default_factory=list)
    settled: list[tuple[Case, LinkJob | None]] = field(default_factory=list)
    queued: list[tuple[LinkJob, dict[str, int]]] = field(default_factory=list)
    reviewed: list[tuple[str, str | None, int | None, str | None]] = field(default_factory=list)
    said_runs: list = field(default_factory=list)  # (schedule, run, due words) said in the report channel
    fail: set[str] = field(default_factory=set)
    store: Store | None = None  # where a shown case's message is remembered, as the bot does
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail:
            raise RuntimeError(f"Slack is down ({method})")

    # LinkJobs' Notifier
    def link_job_changed(self, job: LinkJob) -> str | None:
        self._maybe_fail("link_job_changed")
        self.changed.append(job)
        return None if job.message_ts else f"{next(self._ts)}.000100"

    def report_posted(self, job: LinkJob) -> str | None:
        return job.report_ts

    def post_report(self, job: LinkJob, report: JobReport) -> str:
        self._maybe_fail("post_report")
        self.reports.append((job, report))
        return f"{next(self._ts)}.000200"

    def cases_found(self, job: LinkJob, case_ids: list[int]) -> None:
        self.found.append((job, case_ids))

    def unreadable_found(self, job: LinkJob, mms_ids: list[str]) -> None:
        self.unreadable.append((job, mms_ids))

    # Cases' CaseNotifier
    def show_case(self, case: Case) -> None:
        self._maybe_fail("show_case")
        self.shown.append(case)
        if self.store is not None and not self.store.case_messages(case.id):
            self.store.add_case_message(case.id, "D0000PM01", f"{next(self._ts)}.000300")

    def case_settled(self, case: Case, revealed_by: LinkJob | None) -> None:
        self.settled.append((case, revealed_by))

    # the Program Manager's queue (bot/case_notifier.py): one message per job
    def queue_ready(self, job: LinkJob, counts: dict[str, int]) -> None:
        self._maybe_fail("queue_ready")
        self.queued.append((job, counts))
        if self.store is not None:
            self.store.add_queue_message(job.id, "D0000PM01", f"{next(self._ts)}.000400")

    def review(self, channel: str, ts: str | None, link_job: int | None, user: str | None = None) -> None:
        self.reviewed.append((channel, ts, link_job, user))

    def refresh_home(self) -> None:
        pass

    def resend_outcomes(self) -> None:
        pass  # case_settled never fails here: nothing to send again

    # Schedules' notifier
    def schedule_run_said(self, schedule, run, due_words: str) -> str:
        self._maybe_fail("schedule_run_said")
        self.said_runs.append((schedule, run, due_words))
        return f"{next(self._ts)}.000300"


@dataclass
class Workflow:
    sim: Simulator
    store: Store
    notifier: RecordingNotifier
    link_jobs: LinkJobs
    cases: Cases

    def round(self) -> None:
        """One round of the scheduler's work, as bot/scheduler.py runs it."""
        self.link_jobs.tick()
        self.cases.advance()

    def until(self, condition, what: str, timeout: float = 15.0):
        """Turns rounds until `condition()` is true; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.round()
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def link_set(self, *iz_ids: str, name: str = "Workflow test set", contribute: bool = False) -> LinkJob:
        set_id = self.sim.state.make_set(name, list(iz_ids)).id
        return self.link_jobs.request(set_id, CATALOGER, REPORT, contribute=contribute)


@pytest.fixture
def workflow(tmp_path):
    with Simulator(state=seed.sample_state(), api_key=API_KEY, job_seconds=0.2, seed=1) as sim:
        alma = client_for(sim)
        store = Store(str(tmp_path / "nzbot.db"))
        notifier = RecordingNotifier(store=store)
        link_jobs = LinkJobs(store, alma, notifier)
        cases = Cases(store, alma, link_jobs, notifier, batch_seconds=0.0)
        yield Workflow(sim, store, notifier, link_jobs, cases)
        store.close()
        alma.close()
