"""Multi-match cases, from the job that revealed them to a verified link. Slack-free: the
listeners and the scheduler call it, and it speaks to people only through a CaseNotifier.

A case moves through its states (nzbot/states.py: CaseState, and CASE_MOVES, the one table
of moves the store checks) by compare-and-set in SQLite, so two clicks at once, a click
on a decided case, or a restart in any state act once:

    open ──decide──> deciding ──route──> linking ──verified──> linked
      │                  │                   └──not as chosen──> failed (decide again)
      └──skip──> skipped └──re-check: still several──> open

The decision is recorded first; the Alma work (giving the IZ record an identifier,
batching decisions into link-job runs, verifying) is done by `advance`, step by step,
each step safe to repeat after a crash. The route (nzbot/linkroute.py) decides what
"linking" means: a link-job run, a token put on both records first (each step a state of
its link_tokens row: placing -> on_nz -> on_iz -> removing -> removed, the token taken off
whatever the outcome), a merge in the NZ waited for, or a hand-off to the cataloger.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from sqlite_utils.db import NotFoundError

from alma.client import AlmaClient, check_mms_id
from alma.errors import (AlmaBlocked, AlmaError, AlmaPermissionError, AlmaRequestError, BadInput, RecordChanged,
                         RecordNotFound, RecordUnreadable, quoted)
from alma.matching import Verdict
from alma.models import Bib
from alma.preview import look_up
from nzbot.access import EVERY_MEMBER, Scope
from nzbot.linkjobs import LinkJobs
from nzbot.linkroute import (
    DEFAULT_TOKEN_PREFIX,
    NO_MATCH_PREFIX,
    choose_route,
    give_identifier,
    new_token,
    put_token_on_nz,
    take_token_off_iz,
    take_token_off_nz,
)
from nzbot.rounds import run_round
from nzbot.states import (
    DECIDABLE,
    JOB_DONE,
    TOKEN_PENDING,
    CaseState,
    Decision,
    JobState,
    PmNotice,
    Route,
    RouteKind,
    TokenState,
)
from nzbot.store import Case, LinkJob, LinkToken, Store, now
from nzbot.text import VERDICTS

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # records per link-job run made from decisions
CASES_USER = "nzbot"
# Rounds a record may keep being saved by someone else before each of nzbot's saves
# (RecordChanged) before that is treated as Alma refusing the save: a cataloger's editing
# ends; a version check that never passes would otherwise hold the case up for ever.
CHANGED_ROUNDS = 10


def _edited_key(what: str) -> str:
    """Where the rounds a case's or token's record has kept changing are counted."""
    return f"record_changed:{what}"


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

    def resend_outcomes(self) -> None:
        """Sends again the case outcomes Slack did not take (down, a dropped connection)."""

    def queue_ready(self, job: LinkJob, counts: dict[str, int]) -> None:
        """A job's re-check is over: the Program Manager(s) get one message for its cases."""

    def review(self, channel: str, ts: str | None, link_job: int | None, user: str | None = None) -> None:
        """Shows the next case to decide (of a job, or of all) in a queue message, in place."""

    def refresh_home(self) -> None:
        """Brings the Program Managers' queue overviews up to date (debounced)."""

    def hand_off(self, case: Case, revealed_by: LinkJob | None) -> str | None:
        """Gives the cataloger (case.handed_to) the Metadata Editor steps, in the thread of
        the job that revealed the case (or the report channel); returns the message's ts."""

    def tell_pm(self, case: Case, what: PmNotice, token: LinkToken | None = None) -> None:
        """Tells the Program Manager, once, of an outcome that came after the decision and
        concerns them (a PmNotice): in the thread of the message the case was decided in."""


class Cases:
    def __init__(self, store: Store, alma: AlmaClient, link_jobs: LinkJobs, notifier: CaseNotifier,
                 batch_seconds: float = 60.0,
                 token_prefix: str = DEFAULT_TOKEN_PREFIX) -> None:
        self.store = store
        self.link_jobs = link_jobs
        # Decisions wait this long for others to share their link-job run: Alma allows
        # only 5 runs of the link job an hour.
        self.batch_seconds = batch_seconds
        self.alma = alma
        self.background = alma.for_background()
        self.notifier = notifier
        self.token_prefix = token_prefix  # the token route's 035 prefix
        self._advancing = threading.Lock()
        self._wanted = threading.Event()  # a round was asked for (a click) while one ran

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
            raise BadInput(f"Record {iz_mms_id} is no longer a multi-match ({VERDICTS[match.verdict].meaning}): "
                           "there is nothing for the Program Manager to decide.")
        case = self.store.open_case(
            iz_mms_id, match.iz.title if match.iz else "", match.candidates,
            None, match.iz, requested_by=requested_by)
        if case is None:  # opened by someone else a moment ago
            return self.store.open_case_for(iz_mms_id), False
        self.store.audit(requested_by, "case_opened", f"record {iz_mms_id}", CaseState.OPEN,
                         f"sent to the Program Manager; {len(match.candidates)} candidates")
        self._show(case)
        return case, True

    # -- deciding --------------------------------------------------------------------

    def decide(self, case_id: int, user: str, decision: Decision | str, nz_mms_id: str | None = None) -> Case:
        """Records the Program Manager's decision: link, contribute, recheck or skip.
        Refuses a forged candidate and a case already decided. (Who may decide is the
        access policy's to say, before this is called: nzbot/access.py.)"""
        case = self.case(case_id)
        if decision not in tuple(Decision):
            raise BadInput(f"Unknown decision {decision!r}.")
        decision = Decision(decision)
        if decision in (Decision.LINK, Decision.MERGE):
            if not nz_mms_id:
                raise BadInput(f"No NZ record was chosen for case {case_id}: nothing was changed.")
            if nz_mms_id not in case.candidate_ids:
                raise BadInput(f"NZ record {nz_mms_id} is not one of case {case_id}'s candidates.")
        to_state = CaseState.SKIPPED if decision == Decision.SKIP else CaseState.DECIDING
        from_states = DECIDABLE
        if decision == Decision.RECHECK and case.state == CaseState.LINKING and case.route is not None and case.route.kind == RouteKind.MERGE:
            from_states = DECIDABLE + (CaseState.LINKING,)  # a merge that is not coming: look again
        moved = self.store.move_case(
            case.id, from_states, to_state, decision=decision, decided_by=user, decided_at=now(),
            chosen_nz_mms_id=nz_mms_id if decision in (Decision.LINK, Decision.MERGE) else None, route=None,
            linking_job=None, note=None, handed_to=None, handoff_ts=None, merged=[],
        )
        if not moved:
            raise AlreadyDecided(self.store.case(case.id))
        self.store.audit(user, f"case_{decision}", f"case {case.id} record {case.iz_mms_id}",
                         to_state, nz_mms_id or "")
        case = self.store.case(case.id)
        self._show(case)
        if to_state == CaseState.SKIPPED:
            self._settled(case)
        return case

    def review(self, user: str, channel: str | None, ts: str | None, link_job: int | None) -> None:
        """The Program Manager's "Review cases" (of a link job's row id, or None: of all):
        the next case to decide replaces the queue message's content (the access policy
        has checked that `user` is the Program Manager)."""
        if link_job is not None:
            try:
                self.store.link_job(link_job)
            except NotFoundError:
                raise BadInput(f"There is no link job {link_job}.") from None
        self.notifier.review(channel or "", ts, link_job, user)

    # -- carrying decisions out (the scheduler's step) -------------------------------

    def advance(self) -> None:
        """Moves every unsettled case one step on, now. One round at a time: asked while a
        round runs (a click just after the scheduler's round began), the running round goes
        round once more when it ends, so the click's work is never left for the next tick."""
        self._wanted.set()
        while self._wanted.is_set():
            if not self._advancing.acquire(blocking=False):
                return  # the round running now sees _wanted and goes again
            try:
                while self._wanted.is_set():
                    self._wanted.clear()
                    run_round(log, "cases", (self.deliver, self.route_decided, self.watch_merges,
                                             self.batch_into_link_jobs, self.verify_linking,
                                             self.remove_tokens, self.deliver_hand_offs,
                                             self.notifier.resend_outcomes, self.notifier.refresh_home),
                              on_alma_error=self.link_jobs.blocked.failed)
            finally:
                self._advancing.release()
            # asked between the last check and the release: go again (or the asker does)

    def deliver(self) -> None:
        """Cases sent from a lookup that nobody has been shown yet (Slack was down) go out
        now; a job whose re-check is over gives the Program Manager one queue message.
        Reads only the cases with something to deliver, never every open case."""
        for case in self.store.undelivered_cases():
            self._show(case)
        for job in self.store.jobs_awaiting_queue_message():
            self.notifier.queue_ready(job, self.store.case_counts(job.id, scope=EVERY_MEMBER))

    def route_decided(self) -> None:
        for case in self.store.cases(CaseState.DECIDING):
            try:
                if case.decision == Decision.RECHECK:
                    self._recheck(case)
                elif case.decision == Decision.CONTRIBUTE:
                    self._start_linking(case, Route(RouteKind.CONTRIBUTE, prefix=NO_MATCH_PREFIX))
                elif case.decision == Decision.LINK and self.store.link_tokens(*TOKEN_PENDING, case_id=case.id):
                    self._token_steps(case)  # resumed after a restart: the route was chosen
                else:
                    route = choose_route(self.background, case.decision, case.chosen_nz_mms_id,
                                         self.token_prefix)
                    if route.kind == RouteKind.TOKEN:
                        self._token_steps(case)
                    else:
                        give_identifier(self.background, case.iz_mms_id, route)
                        self._start_linking(case, route)
            except RecordNotFound:
                self._fail(case, f"IZ record {case.iz_mms_id} is no longer in Alma.")
            except AlmaBlocked:
                raise  # every case alike: the step stops and says so once
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
        waiting = [c for c in self.store.cases(CaseState.LINKING)
                   if c.linking_job is None and c.route.by_link_job and self._readable(c)]
        groups: dict[tuple[str, str], list[Case]] = {}
        for case in waiting:
            route = case.route
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
                except AlmaBlocked:
                    raise  # every batch alike: the step stops and says so once
                except AlmaError as exc:  # this batch waits for the next round; other batches go on
                    log.warning("cases: a batch of %d: %s", len(cases[start:start + BATCH_SIZE]), exc)

    def verify_linking(self) -> None:
        """Reads each linking record back: linked to the chosen NZ record, or it failed."""
        linking = [c for c in self.store.cases(CaseState.LINKING) if self._readable(c)]
        due = []
        for case in linking:
            if case.route.kind == RouteKind.MANUAL:
                due.append(case)  # watched until a person links it
            elif case.linking_job is not None:
                job = self.store.link_job(case.linking_job)
                if job.state == JobState.REFUSED:
                    self._fail(case, f"Alma refused the link job: {job.note}")
                elif job.state in JOB_DONE:
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
        manual = case.route.kind == RouteKind.MANUAL
        if case.decision == Decision.CONTRIBUTE and linked and linked not in case.candidate_ids:
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
            counters = ", ".join(f"{c.desc or c.key}: {c.value}" for c in job.counters)
            self._fail(case, f"Alma's link job ({job.status}) did not link IZ record "
                             f"{case.iz_mms_id}. Its report: {counters or 'no counters'}.")

    # -- the token route -------------------------------------------------------------

    def _token_steps(self, case: Case) -> None:
        """Puts the case's token on the chosen NZ record, then on the IZ record, then hands
        the case to the link job. Each step is recorded, and each is safe to repeat."""
        pending = self.store.link_tokens(*TOKEN_PENDING, case_id=case.id)
        token = next((t for t in pending if t.state != TokenState.REMOVING and t.nz_mms_id == case.chosen_nz_mms_id), None)
        if any(t is not token for t in pending):
            return  # an earlier attempt's token is still coming off: the next round goes on
        if token is None:
            token = self.store.add_link_token(case.id, new_token(self.token_prefix, case.id),
                                              case.chosen_nz_mms_id, case.iz_mms_id)
            self.store.audit(CASES_USER, "token_made", f"case {case.id}", TokenState.PLACING, token.token)
        record = f"NZ record {token.nz_mms_id}"  # the record the step below saves
        try:
            if token.state == TokenState.PLACING:
                if not put_token_on_nz(self.background, token.nz_mms_id, token.token):
                    self._fail(case, f"NZ record {token.nz_mms_id} did not keep the temporary 035 "
                                     f"{token.token} nzbot put on it (Alma changed the record as it "
                                     "saved it), so the link job could not be pointed at it.")
                    return
                self.store.move_link_token(token.id, TokenState.PLACING, TokenState.ON_NZ)
                self.store.audit(CASES_USER, "token_on_nz", f"NZ record {token.nz_mms_id}", TokenState.ON_NZ, token.token)
                token = self.store.link_token(token.id)
            if token.state == TokenState.ON_NZ:
                record = f"IZ record {case.iz_mms_id}"
                give_identifier(self.background, case.iz_mms_id, _token_route(token))
                self.store.move_link_token(token.id, TokenState.ON_NZ, TokenState.ON_IZ)
                self.store.audit(CASES_USER, "token_on_iz", f"IZ record {token.iz_mms_id}", TokenState.ON_IZ, token.token)
        except (RecordNotFound, RecordUnreadable) as exc:
            self._fail(case, exc.message)
            return
        except AlmaRequestError as exc:  # the NZ key may read but not write, or Alma refuses this record
            if isinstance(exc, RecordChanged) and self._being_edited(f"case {case.id}", exc):
                return
            # Deciding again would meet the same refusal: the cataloger links it in the
            # Metadata Editor instead; the token comes off (remove_tokens), and the PM learns why.
            why = (" ALMA_NZ_API_KEY needs Bibs read/write in the network zone."
                   if isinstance(exc, AlmaPermissionError) and record.startswith("NZ") else "")
            self._start_linking(case, Route(RouteKind.MANUAL),
                                note=f"Alma refused to put the temporary 035 {token.token} on {record}: {exc}{why}")
            return
        self.store.forget(_edited_key(f"case {case.id}"))  # a later decision waits afresh
        self._start_linking(case, _token_route(token))

    def remove_tokens(self) -> None:
        """Takes every token off that no case is using any more (linked, failed, decided
        otherwise), and checks it is gone; also what a killed bot left behind."""
        for token in self.store.link_tokens(*TOKEN_PENDING):
            case = self.store.case(token.case_id)
            if token.state != TokenState.REMOVING:
                if self._token_in_use(case, token):
                    continue
                if not self.store.move_link_token(token.id, token.state, TokenState.REMOVING):
                    continue
            try:
                gone = take_token_off_nz(self.background, token.nz_mms_id, token.token)
            except RecordNotFound:
                gone = True  # the NZ record is gone (merged away, deleted): so is the token
            except AlmaBlocked:
                raise  # every token alike (the key's permission, the quota): said once
            except AlmaRequestError as exc:  # Alma refuses this record: say where it stays; the others go on
                if not (isinstance(exc, RecordChanged) and self._being_edited(f"token {token.id}", exc)):
                    self._token_stuck(token, exc)
                continue
            if not gone:
                log.warning("case %s: token %s is still on NZ record %s", case.id, token.token, token.nz_mms_id)
                continue
            try:
                take_token_off_iz(self.background, token.iz_mms_id, token.token)
            except RecordNotFound:
                pass
            except RecordChanged as exc:  # the NZ record is clean; the IZ record's turn comes again
                self._being_edited(f"token {token.id}", exc)
                continue
            self.store.forget(_edited_key(f"token {token.id}"))
            if self.store.move_link_token(token.id, TokenState.REMOVING, TokenState.REMOVED):
                self.store.audit(CASES_USER, "token_removed", f"NZ record {token.nz_mms_id}", TokenState.REMOVED,
                                 f"{token.token}, checked gone")
                self._token_told(token)

    def _token_in_use(self, case: Case, token: LinkToken) -> bool:
        if case.state == CaseState.DECIDING:
            return case.decision == Decision.LINK and case.chosen_nz_mms_id == token.nz_mms_id
        if case.state == CaseState.LINKING:
            route = case.route
            return route is not None and route.kind == RouteKind.TOKEN and route.identifier == token.token
        return False

    def _tell_pm(self, case: Case, what: PmNotice, token: LinkToken | None = None) -> None:
        try:
            self.notifier.tell_pm(case, what, token)
        except Exception:  # Slack down: the case's message and the Home tab still say it
            log.exception("case %s: could not tell the Program Manager (%s)", case.id, what)

    def _being_edited(self, what: str, exc: RecordChanged) -> bool:
        """True while a record saved by someone else before each of nzbot's saves may
        still be waited for (the next round tries again), for CHANGED_ROUNDS rounds."""
        key = _edited_key(what)
        rounds = int(self.store.recall(key) or 0) + 1
        self.store.remember(key, str(rounds))
        log.warning("%s: %s (round %d of %d)", what, exc, rounds, CHANGED_ROUNDS)
        return rounds < CHANGED_ROUNDS

    def _token_stuck(self, token: LinkToken, exc: AlmaError) -> None:
        """The case's message says, once, which NZ record keeps the token and why: the
        Program Manager works in the NZ and can delete it there. nzbot keeps trying."""
        log.warning("case %s: Alma refused to take token %s off NZ record %s: %s",
                    token.case_id, token.token, token.nz_mms_id, exc)
        if token.stuck is not None:
            return  # said already
        self.store.update_link_token(token.id, stuck=str(exc))
        case = self.store.case(token.case_id)
        said = (f"{_stuck_marker(token)} NZ record {token.nz_mms_id}: Alma refused to take it off ({exc}). "
                "nzbot keeps trying; the Program Manager can also delete that 035 from the NZ record "
                "in the Metadata Editor.")
        note = f"{case.note} {said}" if case.note else said
        if self.store.move_case(case.id, case.state, case.state, note=note):
            self._show(self.store.case(case.id))
            self._tell_pm(self.store.case(case.id), PmNotice.TOKEN_STUCK, token)

    def _token_told(self, token: LinkToken) -> None:
        """The case's message says the token was taken off again."""
        case = self.store.case(token.case_id)
        if case.state not in (CaseState.LINKED, CaseState.FAILED, CaseState.LINKING):  # linking: handed off after a refusal
            return
        said = (f"The temporary 035 {token.token} was put on NZ record {token.nz_mms_id} for the "
                "link job and has been taken off again (checked).")
        earlier = (case.note or "").split(_stuck_marker(token))[0].strip()  # no longer stuck
        note = f"{earlier} {said}" if earlier else said
        if self.store.move_case(case.id, case.state, case.state, note=note):
            self._show(self.store.case(case.id))

    # -- the hand-off ------------------------------------------------------------------

    def deliver_hand_offs(self) -> None:
        """Hand-offs not yet posted (new, or Slack was down) go out now."""
        for case in self.store.cases(CaseState.LINKING):
            route = case.route
            if route is not None and route.kind == RouteKind.MANUAL and not case.handoff_ts:
                self._hand_off(case)

    def _hand_off(self, case: Case) -> None:
        job = self.store.link_job(case.link_job) if case.link_job else None
        try:
            ts = self.notifier.hand_off(case, job)
        except Exception:  # Slack down: deliver_hand_offs tries again
            log.exception("case %s: could not hand it off", case.id)
            return
        if ts and self.store.move_case(case.id, CaseState.LINKING, CaseState.LINKING, handoff_ts=ts):
            self.store.audit(case.decided_by or CASES_USER, "case_handed_off", f"case {case.id}",
                             CaseState.LINKING, case.handed_to or "the report channel")
            self._tell_pm(self.store.case(case.id), PmNotice.HANDED_OFF)

    def _cataloger_of(self, case: Case) -> str:
        """Who gets a hand-off: the cataloger who sent the case, or who started the link
        job that revealed it; "" when that was nobody in Slack (a run started in Alma)."""
        if case.requested_by:
            return case.requested_by
        if case.link_job:
            who = self.store.link_job(case.link_job).requested_by
            if who and who not in ("alma", CASES_USER):
                return who
        return ""

    # -- the merge route ---------------------------------------------------------------

    def watch_merges(self) -> None:
        """Cases waiting for the Program Manager's merge in the NZ: once only the chosen
        record carries the OCLC number, the ordinary Unique OCLC run links the record, and
        the other open cases on those NZ records are re-checked."""
        for case in self.store.cases(CaseState.LINKING):
            route = case.route
            if route is None or route.kind != RouteKind.MERGE:
                continue
            match = look_up(self.background, case.iz_mms_id)
            chosen = case.chosen_nz_mms_id
            duplicates = [m for m in case.candidate_ids if m != chosen]
            if match.verdict is Verdict.MULTI:
                continue  # not merged yet
            if match.verdict is Verdict.LINKED and match.linked_nz_mms_id == chosen:
                self.store.move_case(case.id, CaseState.LINKING, CaseState.LINKING, merged=duplicates)
                self._linked(self.store.case(case.id), chosen)
            elif match.verdict is Verdict.UNIQUE and match.candidates[0].mms_id == chosen:
                if self.store.move_case(case.id, CaseState.LINKING, CaseState.LINKING, route=Route(RouteKind.UNIQUE),
                                        linking_job=None, merged=duplicates):
                    self.store.audit(case.decided_by or CASES_USER, "case_merged", f"case {case.id}",
                                     CaseState.LINKING, f"{' '.join(duplicates)} merged into {chosen}")
                    self._after(case.id)
            elif match.verdict is Verdict.LINKED:
                self._fail(case, f"IZ record {case.iz_mms_id} is linked to NZ record "
                                 f"{match.linked_nz_mms_id}, not to the chosen {chosen}.")
                continue
            elif match.verdict is Verdict.UNIQUE:
                self._fail(case, f"After the merge NZ record {match.candidates[0].mms_id} carries the "
                                 f"OCLC number, not the chosen {chosen}.")
                continue
            else:
                self._fail(case, f"While waiting for the merge: {VERDICTS[match.verdict].meaning}; "
                                 "no single NZ record to link to.")
                continue
            self._recheck_others(case)

    def _recheck_others(self, merged: Case) -> None:
        """Every other open case on the merged NZ records, or one handed to its cataloger,
        is looked up again: those now unique are linked the ordinary way."""
        ids = set(merged.candidate_ids)
        for other in self.store.cases(*DECIDABLE, CaseState.LINKING):
            if other.id == merged.id or not ids & set(other.candidate_ids):
                continue
            if other.state == CaseState.LINKING and (other.route is None or other.route.kind != RouteKind.MANUAL):
                continue  # a link job or a merge is on it; a hand-off would wait for a record merged away
            if self.store.move_case(other.id, other.state, CaseState.DECIDING, decision=Decision.RECHECK,
                                    decided_by=merged.decided_by or CASES_USER, decided_at=now(),
                                    chosen_nz_mms_id=None, route=None, linking_job=None, note=None,
                                    handed_to=None, handoff_ts=None):
                self.store.audit(CASES_USER, "case_recheck_after_merge", f"case {other.id}", CaseState.DECIDING,
                                 f"NZ duplicates merged in case {merged.id}")
                self._show(self.store.case(other.id))

    # -- helpers ---------------------------------------------------------------------

    def _readable(self, case: Case) -> bool:
        """A case whose IZ record id is not an MMS ID (one opened from a forged button
        before values were checked) fails alone, saying so, instead of failing every
        Alma call it would join."""
        try:
            check_mms_id(case.iz_mms_id)
            if case.decision == Decision.LINK and case.chosen_nz_mms_id:
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
            if self.store.move_case(case.id, CaseState.DECIDING, CaseState.LINKED, chosen_nz_mms_id=match.linked_nz_mms_id,
                                    note="Already linked when re-checked."):
                self._after(case.id, settled=True)
        elif match.verdict is Verdict.UNIQUE:
            chosen = match.candidates[0].mms_id
            self.store.move_case(case.id, CaseState.DECIDING, CaseState.DECIDING, chosen_nz_mms_id=chosen,
                                 candidates=match.candidates)
            self._start_linking(self.store.case(case.id), Route(RouteKind.UNIQUE))
        else:
            note = (f"Re-checked: {len(match.candidates)} NZ records still carry its OCLC number."
                    if match.verdict is Verdict.MULTI else
                    f"Re-checked: {VERDICTS[match.verdict].meaning}; no single NZ record to link to.")
            if self.store.move_case(case.id, CaseState.DECIDING, CaseState.OPEN, note=note, decision=None,
                                    candidates=match.candidates or case.candidates):
                self.store.audit(case.decided_by or CASES_USER, "case_rechecked", f"case {case.id}", CaseState.OPEN, note)
                self._after(case.id)

    def _start_linking(self, case: Case, route: Route, note: str | None = None) -> None:
        extra = {"handed_to": self._cataloger_of(case)} if route.kind == RouteKind.MANUAL else {}
        if note:
            extra["note"] = note  # why this route (a hand-off after Alma refused the token)
        if self.store.move_case(case.id, CaseState.DECIDING, CaseState.LINKING, route=route, **extra):
            self.store.audit(case.decided_by or CASES_USER, "case_routed", f"case {case.id}", CaseState.LINKING, route.kind)
            self._after(case.id)
            if route.kind == RouteKind.MANUAL:
                self._hand_off(self.store.case(case.id))

    def _join_queued_run(self, kind: str, prefix: str, cases: list[Case]) -> list[Case]:
        """Adds decisions to a run made from earlier decisions that Alma has not started
        yet (same route), saving runs of the link job (Alma allows 5 an hour). Returns the
        decisions left over."""
        contribute, run_prefix = kind == RouteKind.CONTRIBUTE, prefix if kind != RouteKind.UNIQUE else ""
        for job in self.store.link_jobs(JobState.QUEUED, JobState.STARTING):
            room = BATCH_SIZE - job.set_size
            if (not cases or room <= 0 or job.contribute != contribute
                    or job.match_prefix != run_prefix or not self.store.cases_in_job(job.id)):
                continue
            joining = cases[:room]
            if not self.link_jobs.add_to_queued(job.id, [c.iz_mms_id for c in joining]):
                continue  # Alma started it meanwhile
            cases = cases[room:]
            for case in joining:
                self.store.move_case(case.id, CaseState.LINKING, CaseState.LINKING, linking_job=job.id)
            self.store.audit(CASES_USER, "case_batch_joined", f"set {job.set_id}", JobState.QUEUED,
                             f"{len(joining)} more cases")
        return cases

    def _run_batch(self, kind: str, prefix: str, cases: list[Case]) -> None:
        # Alma refuses a taken set name: the name is unique to these decisions (a case
        # decided again makes another), and the same after a crash, so a retry reuses the
        # set it made.
        batch = hashlib.sha1(";".join(f"{c.id}:{c.decided_at}" for c in cases).encode()).hexdigest()[:8]
        name = f"nzbot cases {date.today().isoformat()} {cases[0].id}-{cases[-1].id} {batch}"
        created = self.background.create_set(name, [c.iz_mms_id for c in cases], reuse=True,
                                             description="Records linked by the Program Manager's decisions")
        job = self.store.add_link_job(
            set_id=created.id, set_name=created.name, set_size=len(cases),
            contribute=int(kind == RouteKind.CONTRIBUTE), match_prefix=prefix if kind != RouteKind.UNIQUE else "",
            requested_by=cases[0].decided_by or CASES_USER, channel="", state=JobState.QUEUED,
            reconciled=1,  # its records are the cases themselves: nothing to reconcile
        )
        for case in cases:
            self.store.move_case(case.id, CaseState.LINKING, CaseState.LINKING, linking_job=job.id)
        self.store.audit(CASES_USER, "case_batch_queued", f"set {created.id}", JobState.QUEUED,
                         f"{len(cases)} cases, route {kind}")

    def _linked(self, case: Case, nz_mms_id: str) -> None:
        if self.store.move_case(case.id, CaseState.LINKING, CaseState.LINKED, chosen_nz_mms_id=nz_mms_id, note=None):
            self.store.audit(case.decided_by or CASES_USER, "case_linked", f"case {case.id}",
                             CaseState.LINKED, f"IZ {case.iz_mms_id} -> NZ {nz_mms_id}, verified")
            self._after(case.id, settled=True)

    def _fail(self, case: Case, note: str) -> None:
        if self.store.move_case(case.id, (CaseState.DECIDING, CaseState.LINKING), CaseState.FAILED, note=note):
            self.store.audit(case.decided_by or CASES_USER, "case_failed", f"case {case.id}", CaseState.FAILED, note)
            self._after(case.id, settled=True)
            self._tell_pm(self.store.case(case.id), PmNotice.FAILED)  # back in the queue, to decide again

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
        except Exception:  # Slack down: resend_outcomes sends it in a later round
            log.exception("case %s: could not tell the job's thread (it is sent again later)", case.id)


def decisions_csv(store: Store, scope: Scope) -> str:
    """Every case of `scope`'s members with its decision and the NZ duplicates it revealed:
    the Program Manager's merge work list (kept record, duplicates)."""
    out = io.StringIO()
    write_decisions_csv(store, out, scope=scope)
    return out.getvalue()


def write_decisions_csv(store: Store, out, limit: int | None = None, *, scope: Scope) -> int:
    """Writes decisions_csv's rows to `out` as they are read (memory stays flat however
    many cases); at most `limit` cases. Returns the number of cases written."""
    writer = csv.writer(out)
    written = 0
    writer.writerow(["case", "iz_mms_id", "title", "state", "decision", "kept_nz_mms_id",
                     "duplicate_nz_mms_ids", "decided_by", "decided_at", "note", "merged_nz_mms_ids",
                     "institution"])
    for case in store.iter_cases(scope=scope):
        if limit is not None and written >= limit:
            break
        written += 1
        kept = case.chosen_nz_mms_id or ""
        duplicates = [m for m in case.candidate_ids if m != kept]
        writer.writerow([case.id, case.iz_mms_id, case.iz_title, case.state, case.decision or "",
                         kept, " ".join(duplicates), case.decided_by or "", case.decided_at or "",
                         case.note or "", " ".join(case.merged), case.institution])
    return written


def _stuck_marker(token: LinkToken) -> str:
    return f"The temporary 035 {token.token} is still on"


def _token_route(token: LinkToken) -> Route:
    """The link-job route of a token: the other-system profile on the token's own prefix."""
    prefix = token.token[: token.token.index(")") + 1]
    return Route(RouteKind.TOKEN, prefix=prefix, identifier=token.token)
