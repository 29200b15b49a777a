"""Multi-match cases, from the job that revealed them to a verified link. Slack-free: the
listeners and the scheduler call it, and it speaks to people only through a CaseNotifier.

A case moves through its states by compare-and-set in SQLite, so two clicks at once, a
click on a decided case, or a restart in any state act once:

    open ──decide──> deciding ──route──> linking ──verified──> linked
      │                  │                   └──not as chosen──> failed (decide again)
      └──skip──> skipped └──re-check: still several──> open

The decision is recorded first; the Alma work (giving the IZ record an identifier,
batching decisions into link-job runs, verifying) is done by `advance`, step by step,
each step safe to repeat after a crash.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from sqlite_utils.db import NotFoundError

from alma.client import AlmaClient, check_mms_id
from alma.errors import AlmaError, BadInput, RecordNotFound, quoted
from alma.matching import Verdict
from alma.models import Bib
from alma.preview import look_up
from nzbot.linkjobs import LinkJobs
from nzbot.linkroute import CONTRIBUTE, MANUAL, NO_MATCH_PREFIX, UNIQUE, Route, give_identifier, route_to
from nzbot.store import Case, LinkJob, Store, now

log = logging.getLogger(__name__)

DECIDABLE = ("open", "failed")  # states in which the buttons are live
UNSETTLED = ("open", "failed", "deciding", "linking")
BATCH_SIZE = 50  # records per link-job run made from decisions
CASES_USER = "nzbot"


class NotProgramManager(Exception):
    """Someone other than the Program Manager tried to decide a case."""


class AlreadyDecided(Exception):
    """The case moved on before this click: someone decided it already."""

    def __init__(self, case: Case) -> None:
        super().__init__(f"case {case.id} is {case.state}")
        self.case = case


class CaseNotifier(Protocol):
    def show_case(self, case: Case) -> None:
        """Sends the case to the Program Manager(s), or updates every message showing it."""

    def case_settled(self, case: Case, revealed_by: LinkJob | None) -> None:
        """Tells the thread of the job that revealed the case how it ended."""


class Cases:
    def __init__(self, store: Store, alma: AlmaClient, link_jobs: LinkJobs, notifier: CaseNotifier,
                 pm_users: tuple[str, ...], batch_seconds: float = 60.0) -> None:
        self.store = store
        self.link_jobs = link_jobs
        # Decisions wait this long for others to share their link-job run: Alma allows
        # only 5 runs of the link job an hour.
        self.batch_seconds = batch_seconds
        self.alma = alma
        self.background = alma.for_background()
        self.notifier = notifier
        self.pm_users = pm_users
        self._advancing = threading.Lock()

    # -- opening ---------------------------------------------------------------------

    def send_to_pm(self, iz_mms_id: str, requested_by: str) -> tuple[Case, bool]:
        """A cataloger's "Send to the Program Manager" on a multi-match lookup. Returns the
        case and whether it is new (a record has at most one unsettled case)."""
        iz_mms_id = check_mms_id(iz_mms_id)  # never an OCLC number: a case is for an IZ record
        existing = self.store.open_case_for(iz_mms_id)
        if existing is not None:
            return existing, False
        match = look_up(self.alma, iz_mms_id)
        if match.iz is None or match.iz.mms_id != iz_mms_id:
            raise BadInput(f"{quoted(iz_mms_id)} is not an IZ record's MMS ID: nothing was sent "
                           "to the Program Manager.")
        if match.verdict is not Verdict.MULTI:
            raise BadInput(f"Record {iz_mms_id} is no longer a multi-match ({match.verdict.value}): "
                           "there is nothing for the Program Manager to decide.")
        case = self.store.open_case(
            iz_mms_id, match.iz.title if match.iz else "", [c.as_dict() for c in match.candidates],
            None, match.iz.as_dict() if match.iz else None)
        if case is None:  # opened by someone else a moment ago
            return self.store.open_case_for(iz_mms_id), False
        self.store.audit(requested_by, "case_opened", f"record {iz_mms_id}", "open",
                         f"sent to the Program Manager; {len(match.candidates)} candidates")
        self._show(case)
        return case, True

    # -- deciding --------------------------------------------------------------------

    def decide(self, case_id: int, user: str, decision: str, nz_mms_id: str | None = None) -> Case:
        """Records the Program Manager's decision: link, contribute, recheck or skip.
        Refuses anyone else, a forged candidate, and a case already decided."""
        if user not in self.pm_users:
            self.store.audit(user, f"case_{decision}", f"case {case_id}", "refused: not the Program Manager")
            raise NotProgramManager(user)
        case = self.case(case_id)
        if decision == "link":
            if not nz_mms_id:
                raise BadInput(f"No NZ record was chosen for case {case_id}: nothing was changed.")
            if nz_mms_id not in case.candidate_ids:
                raise BadInput(f"NZ record {nz_mms_id} is not one of case {case_id}'s candidates.")
        elif decision not in ("contribute", "recheck", "skip"):
            raise BadInput(f"Unknown decision {decision!r}.")
        to_state = "skipped" if decision == "skip" else "deciding"
        moved = self.store.move_case(
            case.id, DECIDABLE, to_state, decision=decision, decided_by=user, decided_at=now(),
            chosen_nz_mms_id=nz_mms_id if decision == "link" else None, route=None,
            linking_job=None, note=None,
        )
        if not moved:
            raise AlreadyDecided(self.store.case(case.id))
        self.store.audit(user, f"case_{decision}", f"case {case.id} record {case.iz_mms_id}",
                         to_state, nz_mms_id or "")
        case = self.store.case(case.id)
        self._show(case)
        if to_state == "skipped":
            self._settled(case)
        return case

    # -- carrying decisions out (the scheduler's step) -------------------------------

    def advance(self) -> None:
        """Moves every unsettled case one step on. One at a time: a second caller skips."""
        if not self._advancing.acquire(blocking=False):
            return
        try:
            for step in (self.deliver, self.route_decided, self.batch_into_link_jobs,
                         self.verify_linking):
                try:
                    step()
                except AlmaError as exc:
                    log.warning("cases: %s: %s", step.__name__, exc)
                except Exception:
                    log.exception("cases: %s failed", step.__name__)
        finally:
            self._advancing.release()

    def deliver(self) -> None:
        """Open cases nobody has been shown yet (new, or Slack was down) go out now."""
        for case in self.store.cases("open"):
            if not self.store.case_messages(case.id):
                self._show(case)

    def route_decided(self) -> None:
        for case in self.store.cases("deciding"):
            try:
                if case.decision == "recheck":
                    self._recheck(case)
                elif case.decision == "contribute":
                    self._start_linking(case, Route(CONTRIBUTE, prefix=NO_MATCH_PREFIX))
                else:
                    route = route_to(self.background, case.chosen_nz_mms_id)
                    give_identifier(self.background, case.iz_mms_id, route)
                    self._start_linking(case, route)
            except RecordNotFound:
                self._fail(case, f"IZ record {case.iz_mms_id} is no longer in Alma.")
            except AlmaError as exc:  # Alma down: the decision stays recorded; next round
                log.warning("case %s: %s", case.id, exc)
            except BadInput as exc:  # this case can never be routed; the others go on
                self._fail(case, exc.args[0] if exc.args else str(exc))
            except Exception:
                log.exception("case %s: routing failed", case.id)

    def batch_into_link_jobs(self) -> None:
        """Decisions waiting for a link job join a run of theirs still queued (Alma at its
        limits), or go into a new run per match prefix once the oldest has waited
        `batch_seconds` for others (or a run is full), queued within Alma's limits."""
        waiting = [c for c in self.store.cases("linking")
                   if c.linking_job is None and Route.decode(c.route).by_link_job and self._readable(c)]
        groups: dict[tuple[str, str], list[Case]] = {}
        for case in waiting:
            route = Route.decode(case.route)
            groups.setdefault((route.kind, route.prefix), []).append(case)
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.batch_seconds)
        for (kind, prefix), cases in groups.items():
            cases = self._join_queued_run(kind, prefix, cases)
            if not cases:
                continue
            oldest = min(datetime.fromisoformat(c.decided_at) for c in cases)
            if oldest > cutoff and len(cases) < BATCH_SIZE:
                continue  # give other decisions a moment to join this run
            for start in range(0, len(cases), BATCH_SIZE):
                try:
                    self._run_batch(kind, prefix, cases[start:start + BATCH_SIZE])
                except AlmaError as exc:  # this batch waits for the next round; other batches go on
                    log.warning("cases: a batch of %d: %s", len(cases[start:start + BATCH_SIZE]), exc)

    def verify_linking(self) -> None:
        """Reads each linking record back: linked to the chosen NZ record, or it failed."""
        linking = [c for c in self.store.cases("linking") if self._readable(c)]
        due = []
        for case in linking:
            if Route.decode(case.route).kind == MANUAL:
                due.append(case)  # watched until a person links it
            elif case.linking_job is not None:
                job = self.store.link_job(case.linking_job)
                if job.state == "refused":
                    self._fail(case, f"Alma refused the link job: {job.note}")
                elif job.state in ("finished", "reporting", "reported"):
                    due.append(case)
        if not due:
            return
        bibs = {b.mms_id: b for b in self.background.get_bibs([c.iz_mms_id for c in due])}
        for case in due:
            try:
                self._verify(case, bibs.get(case.iz_mms_id))
            except Exception:  # one case's surprise must not keep the others "linking"
                log.exception("case %s: verifying failed", case.id)

    def _verify(self, case: Case, bib: Bib | None) -> None:
        """Case by case: linked as chosen, or failed saying how."""
        linked = bib.linked_nz_mms_id if bib else None
        manual = Route.decode(case.route).kind == MANUAL
        if case.decision == "contribute" and linked and linked not in case.candidate_ids:
            self._linked(case, linked)
        elif linked and linked == case.chosen_nz_mms_id:
            self._linked(case, linked)
        elif bib is None:
            self._fail(case, f"IZ record {case.iz_mms_id} is no longer in Alma.")
        elif linked:
            self._fail(case, f"Alma linked IZ record {case.iz_mms_id} to NZ record {linked}, "
                             f"not to the chosen {case.chosen_nz_mms_id or 'new record'}.")
        elif not manual:
            job = self.store.link_job(case.linking_job)
            counters = ", ".join(f"{desc or key}: {value}" for key, desc, value in job.counters)
            self._fail(case, f"Alma's link job ({job.status}) did not link IZ record "
                             f"{case.iz_mms_id}. Its report: {counters or 'no counters'}.")

    # -- helpers ---------------------------------------------------------------------

    def _readable(self, case: Case) -> bool:
        """A case whose IZ record id is not an MMS ID (one opened from a forged button
        before values were checked) fails alone, saying so, instead of failing every
        Alma call it would join."""
        try:
            check_mms_id(case.iz_mms_id)
            if case.decision == "link" and case.chosen_nz_mms_id:
                check_mms_id(case.chosen_nz_mms_id)
        except BadInput as exc:
            self._fail(case, f"{exc.args[0]} This case cannot be linked; nothing was changed in Alma.")
            return False
        return True

    def case(self, case_id: int | str) -> Case:
        """A case by id, as typed or as a button sent it; a clear error when there is none."""
        text = str(case_id)
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise BadInput(f"There is no case {quoted(text)}.")
        try:
            return self.store.case(int(text))
        except NotFoundError:
            raise BadInput(f"There is no case {text}.") from None

    def _recheck(self, case: Case) -> None:
        match = look_up(self.background, case.iz_mms_id)
        if match.verdict is Verdict.LINKED:
            if self.store.move_case(case.id, "deciding", "linked", chosen_nz_mms_id=match.linked_nz_mms_id,
                                    note="Already linked when re-checked."):
                self._after(case.id, settled=True)
        elif match.verdict is Verdict.UNIQUE:
            chosen = match.candidates[0].mms_id
            self.store.move_case(case.id, "deciding", "deciding", chosen_nz_mms_id=chosen,
                                 candidates=[c.as_dict() for c in match.candidates])
            self._start_linking(self.store.case(case.id), Route(UNIQUE))
        else:
            note = (f"Re-checked: {len(match.candidates)} NZ records still carry its OCLC number."
                    if match.verdict is Verdict.MULTI else
                    f"Re-checked: {match.verdict.value.replace('_', ' ')}; no single NZ record to link to.")
            if self.store.move_case(case.id, "deciding", "open", note=note, decision=None,
                                    candidates=[c.as_dict() for c in match.candidates] or list(case.candidates)):
                self.store.audit(case.decided_by or CASES_USER, "case_rechecked", f"case {case.id}", "open", note)
                self._after(case.id)

    def _start_linking(self, case: Case, route: Route) -> None:
        if self.store.move_case(case.id, "deciding", "linking", route=route.encode()):
            self.store.audit(case.decided_by or CASES_USER, "case_routed", f"case {case.id}", "linking", route.kind)
            self._after(case.id, settled=route.kind == MANUAL)

    def _join_queued_run(self, kind: str, prefix: str, cases: list[Case]) -> list[Case]:
        """Adds decisions to a run made from earlier decisions that Alma has not started
        yet (same route), saving runs of the link job (Alma allows 5 an hour). Returns the
        decisions left over."""
        contribute, run_prefix = kind == CONTRIBUTE, prefix if kind != UNIQUE else ""
        for job in self.store.link_jobs("queued", "starting"):
            room = BATCH_SIZE - job.set_size
            if (not cases or room <= 0 or job.contribute != contribute
                    or job.match_prefix != run_prefix or not self.store.cases_in_job(job.id)):
                continue
            joining = cases[:room]
            if not self.link_jobs.add_to_queued(job.id, [c.iz_mms_id for c in joining]):
                continue  # Alma started it meanwhile
            cases = cases[room:]
            for case in joining:
                self.store.move_case(case.id, "linking", "linking", linking_job=job.id)
            self.store.audit(CASES_USER, "case_batch_joined", f"set {job.set_id}", "queued",
                             f"{len(joining)} more cases")
        return cases

    def _run_batch(self, kind: str, prefix: str, cases: list[Case]) -> None:
        name = f"nzbot cases {date.today().isoformat()} {cases[0].id}-{cases[-1].id}"
        created = self.background.create_set(name, [c.iz_mms_id for c in cases],
                                             description="Records linked by the Program Manager's decisions")
        job = self.store.add_link_job(
            set_id=created.id, set_name=created.name, set_size=len(cases),
            contribute=int(kind == CONTRIBUTE), match_prefix=prefix if kind != UNIQUE else "",
            requested_by=cases[0].decided_by or CASES_USER, channel="", state="queued",
            reconciled=1,  # its records are the cases themselves: nothing to reconcile
        )
        for case in cases:
            self.store.move_case(case.id, "linking", "linking", linking_job=job.id)
        self.store.audit(CASES_USER, "case_batch_queued", f"set {created.id}", "queued",
                         f"{len(cases)} cases, route {kind}")

    def _linked(self, case: Case, nz_mms_id: str) -> None:
        if self.store.move_case(case.id, "linking", "linked", chosen_nz_mms_id=nz_mms_id, note=None):
            self.store.audit(case.decided_by or CASES_USER, "case_linked", f"case {case.id}",
                             "linked", f"IZ {case.iz_mms_id} -> NZ {nz_mms_id}, verified")
            self._after(case.id, settled=True)

    def _fail(self, case: Case, note: str) -> None:
        if self.store.move_case(case.id, ("deciding", "linking"), "failed", note=note):
            self.store.audit(case.decided_by or CASES_USER, "case_failed", f"case {case.id}", "failed", note)
            self._after(case.id, settled=True)

    def _after(self, case_id: int, settled: bool = False) -> None:
        case = self.store.case(case_id)
        self._show(case)
        if settled:
            self._settled(case)

    def _show(self, case: Case) -> None:
        try:
            self.notifier.show_case(case)
        except Exception:  # Slack down: deliver() or the next change shows it again
            log.exception("case %s: could not show it", case.id)

    def _settled(self, case: Case) -> None:
        job = self.store.link_job(case.link_job) if case.link_job else None
        try:
            self.notifier.case_settled(case, job)
        except Exception:
            log.exception("case %s: could not tell the job's thread", case.id)


def decisions_csv(store: Store) -> str:
    """Every case with its decision and the NZ duplicates it revealed: the Program
    Manager's merge work list (kept record, duplicates)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case", "iz_mms_id", "title", "state", "decision", "kept_nz_mms_id",
                     "duplicate_nz_mms_ids", "decided_by", "decided_at", "note"])
    for case in store.cases():
        kept = case.chosen_nz_mms_id or ""
        duplicates = [m for m in case.candidate_ids if m != kept]
        writer.writerow([case.id, case.iz_mms_id, case.iz_title, case.state, case.decision or "",
                         kept, " ".join(duplicates), case.decided_by or "", case.decided_at or "",
                         case.note or ""])
    return out.getvalue()
