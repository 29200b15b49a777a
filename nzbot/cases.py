"""Multi-match cases, from the job that revealed them to a verified link: a case's own life.
Slack-free: the listeners and the scheduler call it, and it speaks to people only through
a CaseNotifier (nzbot/routes/casework.py).

A case moves through its states (nzbot/states.py: CaseState, and CASE_MOVES, the one table
of moves the store checks) by compare-and-set in SQLite, always through CaseWork.move, so
two clicks at once, a click on a decided case, or a restart in any state act once:

    open ──decide──> deciding ──route──> linking ──verified──> linked
      │                  │                   └──not as chosen──> failed (decide again)
      └──skip──> skipped └──re-check: still several──> open

The decision is recorded first; the Alma work is done by `advance`, a round in which each
unsettled case asks its route (nzbot/routes/) for its next step, each step safe to repeat
after a crash: a decided case is prepared for its route; each route watches its own cases;
decisions are gathered into link-job runs; linking records are read back; each route tidies up.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass

from sqlite_utils.db import NotFoundError

from alma.client import AlmaClient, check_mms_id
from alma.errors import AlmaBlocked, AlmaError, BadInput, RecordNotFound, RecordUnreadable, quoted
from alma.marc import record_to_xml
from alma.matching import Verdict
from alma.preview import look_up, look_up_record
from nzbot.access import EVERY_MEMBER, Scope
from nzbot.linkjobs import LinkJobs
from nzbot.linkroute import DEFAULT_TOKEN_PREFIX
from nzbot.rounds import OneAtATime, run_round
from nzbot.routes import CaseWork, Routes
from nzbot.routes.batching import gather_into_runs
from nzbot.routes.casework import CaseNotifier
from nzbot.routes.verify import verify_linking
from nzbot.states import DECIDABLE, CaseState, Decider, Decision, Route, RouteKind
from nzbot.store import Case, Store, now
from nzbot.text import VERDICTS

log = logging.getLogger(__name__)


class AlreadyDecided(Exception):
    """The case moved on before this click: someone decided it already."""

    def __init__(self, case: Case) -> None:
        super().__init__(f"case {case.id} is {case.state}")
        self.case = case


@dataclass(frozen=True)
class AcceptedAll:
    """What "Accept all suggestions" decided: the cases, and how many by each rule."""

    cases: tuple[Case, ...]
    by_rule: Counter


class Cases:
    def __init__(self, store: Store, alma: AlmaClient, link_jobs: LinkJobs, notifier: CaseNotifier,
                 batch_seconds: float = 60.0, token_prefix: str = DEFAULT_TOKEN_PREFIX) -> None:
        self.store = store
        self.alma = alma
        self.link_jobs = link_jobs
        self.notifier = notifier
        # Decisions wait `batch_seconds` for others to share their link-job run: Alma
        # allows only 5 runs of the link job an hour.
        self.work = CaseWork(store, alma.for_background(), link_jobs, notifier, token_prefix, batch_seconds)
        self.routes = Routes(self.work)
        self._rounds = OneAtATime()

    @property
    def batch_seconds(self) -> float:
        """How long a decision waits for others to share its link-job run."""
        return self.work.batch_seconds

    @batch_seconds.setter
    def batch_seconds(self, seconds: float) -> None:
        self.work.batch_seconds = seconds

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
        self.work.show(case)
        return case, True

    # -- deciding --------------------------------------------------------------------

    def decide(self, case_id: int, user: str, decision: Decision | str, nz_mms_id: str | None = None,
               *, case: Case | None = None) -> Case:
        """Records the Program Manager's decision: link, merge, contribute, recheck or skip.
        Refuses a forged candidate and a case already decided. (Who may decide is the
        access policy's to say, before this is called: nzbot/access.py.)"""
        case = case or self.case(case_id)
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
        moved = self.work.move(
            case, from_states, to_state, decision=decision, decided_by=user, decided_at=now(),
            chosen_nz_mms_id=nz_mms_id if decision in (Decision.LINK, Decision.MERGE) else None, route=None,
            linking_job=None, note=None, handed_to=None, handoff_ts=None, merged=[],
            decider=Decider.PROGRAM_MANAGER, answer_url=None, answer_channel=None,  # theirs now, whoever before
            actor=user, subject=f"case {case.id} record {case.iz_mms_id}", **self._audited(case, decision, nz_mms_id))
        if moved is None:
            raise AlreadyDecided(self.store.case(case.id))
        return moved

    @staticmethod
    def _audited(case: Case, decision: Decision, nz_mms_id: str | None) -> dict[str, str]:
        """The audit of a decision; taking the suggested pick names the rule behind it."""
        if decision == Decision.LINK and case.suggested_rule and nz_mms_id == case.suggested_nz_mms_id:
            return {"audit": "case_accept", "detail": f"{nz_mms_id}, suggested by rule {case.suggested_rule}"}
        return {"audit": f"case_{decision}", "detail": nz_mms_id or ""}

    def accept(self, case_id: int, user: str, nz_mms_id: str) -> Case:
        """"Accept the suggestion": a link to the suggested NZ record, refused when the
        suggestion changed since the message was drawn (a re-check, other rules)."""
        case = self.case(case_id)
        if case.suggested_nz_mms_id != nz_mms_id:
            raise BadInput(f"The suggestion for case {case.id} changed since that message was drawn "
                           "(its candidates were looked up again): nothing was decided. The case shows it as it is now.")
        return self.decide(case.id, user, Decision.LINK, nz_mms_id, case=case)

    def accept_all(self, link_job: int | None, user: str, *, scope: Scope) -> AcceptedAll:
        """"Accept all suggestions" of a job's queue: each case left to decide that has a
        suggestion is decided for it, as a pick would be; the others stay in the queue."""
        accepted: list[Case] = []
        for case_id in self.store.suggested_case_ids(link_job, scope=scope):
            case = self.store.case(case_id)
            try:
                accepted.append(self.decide(case.id, user, Decision.LINK, case.suggested_nz_mms_id, case=case))
            except (AlreadyDecided, BadInput):  # decided a moment ago by another click: theirs stands
                continue
        return AcceptedAll(tuple(accepted), Counter(c.suggested_rule for c in accepted))

    def cataloger_link(self, iz_mms_id: str, nz_mms_id: str, user: str, *, answer_url: str | None = None,
                       answer_channel: str | None = None) -> Case:
        """A cataloger links their own IZ record to one of its NZ matches from /nz match (the
        guidance's Method 2; the access policy checked they may start link jobs here). It is
        recorded as the cataloger's decision and goes the way of a Program Manager's pick
        (a unique match: the ordinary Unique OCLC run; a chosen candidate: its route, the
        Metadata Editor steps to the cataloger when no route can point the job at it), read
        back before the cataloger is told. A record already in the PM's queue: the
        cataloger's pick decides that case."""
        iz_mms_id, nz_mms_id = check_mms_id(iz_mms_id), check_mms_id(nz_mms_id)
        bib, match = look_up_record(self.alma, iz_mms_id)  # one read: matched, then kept
        if match.iz is None or match.iz.mms_id != iz_mms_id:
            raise BadInput(f"{quoted(iz_mms_id)} is not an IZ record here: nothing was linked.")
        if match.verdict is Verdict.LINKED:
            raise BadInput(f"IZ record {iz_mms_id} is already linked to NZ record {match.linked_nz_mms_id}: "
                           "nothing was changed.")
        if nz_mms_id not in {c.mms_id for c in match.candidates}:
            raise BadInput(f"NZ record {nz_mms_id} is no longer one of IZ record {iz_mms_id}'s NZ matches "
                           f"({VERDICTS[match.verdict].meaning}): nothing was linked. `/nz match {iz_mms_id}` "
                           "shows them as they are now.")
        decided = {"decision": Decision.LINK, "decided_by": user, "decided_at": now(), "chosen_nz_mms_id": nz_mms_id,
                   "decider": Decider.CATALOGER, "answer_url": answer_url, "answer_channel": answer_channel}
        audit = {"audit": "case_link", "actor": user, "subject": f"record {iz_mms_id}",
                 "detail": f"{nz_mms_id}, by a cataloger (Method 2)"}
        existing = self.store.open_case_for(iz_mms_id)
        if existing is not None:  # in the Program Manager's queue: the cataloger's pick decides it
            moved = self.work.move(existing, DECIDABLE, CaseState.DECIDING, route=None, linking_job=None,
                                   note=None, handed_to=None, handoff_ts=None, merged=[], **decided, **audit)
            if moved is None:
                raise AlreadyDecided(self.store.case(existing.id))
            return moved
        as_it_is = record_to_xml(bib.marc())  # kept before anything changes
        case = self.store.open_case(iz_mms_id, match.iz.title, match.candidates, None, match.iz,
                                    requested_by=user, decided=decided)
        if case is None:  # opened a moment ago, by someone else
            raise AlreadyDecided(self.store.open_case_for(iz_mms_id))
        self.store.keep_record(case, as_it_is)
        self.store.audit(user, audit["audit"], audit["subject"], CaseState.DECIDING, audit["detail"])
        if match.verdict is Verdict.UNIQUE:  # the record's one match: the ordinary run links it
            return self.work.start_linking(case, Route(RouteKind.UNIQUE)) or case
        self.work.show(case)
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
        self._rounds.run(lambda: run_round(log, "cases", self._round(), on_alma_error=self.link_jobs.blocked.failed))

    def _round(self):
        """The round's steps, in order; each route's own steps where they fall."""
        routes = list(self.routes)
        return (self.deliver, self.route_decided,
                *[_named(r.watch, f"{r.kind}.watch") for r in routes],
                _named(lambda: gather_into_runs(self.work), "gather_into_runs"),
                _named(lambda: verify_linking(self.work, self.routes), "verify_linking"),
                *[_named(r.tidy, f"{r.kind}.tidy") for r in routes],
                self.notifier.resend_outcomes, self.notifier.refresh_home)

    def deliver(self) -> None:
        """Cases sent from a lookup that nobody has been shown yet (Slack was down) go out
        now; a job whose re-check is over gives the Program Manager one queue message.
        Reads only the cases with something to deliver, never every open case."""
        for case in self.store.undelivered_cases():
            self.work.show(case)
        for job in self.store.jobs_awaiting_queue_message():
            self.notifier.queue_ready(job, self.store.case_counts(job.id, scope=EVERY_MEMBER))

    def route_decided(self) -> None:
        """Each decided case takes its next step: a re-check, or its route's first step."""
        for case in self.store.cases(CaseState.DECIDING):
            try:
                if case.decision == Decision.RECHECK:
                    self._recheck(case)
                else:
                    self.routes.prepare(case)
            except RecordNotFound:
                self.work.fail(case, f"IZ record {case.iz_mms_id} is no longer in Alma.")
            except RecordUnreadable as exc:  # it cannot be kept (nor changed): fixed in Alma first
                self.work.fail(case, exc.message)
            except AlmaBlocked:
                raise  # every case alike: the step stops and says so once
            except AlmaError as exc:  # Alma down: the decision stays recorded; next round
                log.warning("case %s: %s", case.id, exc)
            except BadInput as exc:  # this case can never be routed; the others go on
                self.work.fail(case, exc.args[0] if exc.args else str(exc))
            except Exception:
                log.exception("case %s: routing failed", case.id)

    def _recheck(self, case: Case) -> None:
        bib, match = look_up_record(self.work.alma, case.iz_mms_id)
        if match.verdict is Verdict.LINKED:
            self.work.move(case, CaseState.DECIDING, CaseState.LINKED, chosen_nz_mms_id=match.linked_nz_mms_id,
                           note="Already linked when re-checked.")
        elif match.verdict is Verdict.UNIQUE:
            unique = self.work.move(case, CaseState.DECIDING, CaseState.DECIDING, show=False,
                                    chosen_nz_mms_id=match.candidates[0].mms_id, candidates=match.candidates)
            if unique is not None:
                self.work.keep_before_link(unique, bib)
                self.work.start_linking(unique, Route(RouteKind.UNIQUE))
        else:
            note = (f"Re-checked: {len(match.candidates)} NZ records still carry its OCLC number."
                    if match.verdict is Verdict.MULTI else
                    f"Re-checked: {VERDICTS[match.verdict].meaning}; no single NZ record to link to.")
            self.work.move(case, CaseState.DECIDING, CaseState.OPEN, note=note, decision=None,
                           candidates=match.candidates or case.candidates, audit="case_rechecked", detail=note)

    def case(self, case_id: int | str) -> Case:
        """A case by id, as typed or as a button sent it; a clear error when there is none."""
        text = str(case_id)
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise BadInput(f"There is no case {quoted(text)}.")
        try:
            return self.store.case(int(text))
        except NotFoundError:
            raise BadInput(f"There is no case {text}.") from None


def _named(step, name: str):
    """A round's step under the name its log lines give it (run_round logs __name__)."""

    def run() -> None:
        step()

    run.__name__ = name
    return run


def decisions_csv(store: Store, scope: Scope) -> str:
    """Every case of `scope`'s members with its decision and the NZ duplicates it revealed:
    the Program Manager's merge work list (kept record, duplicates); and the suggested pick
    beside the one taken."""
    out = io.StringIO()
    write_decisions_csv(store, out, scope=scope)
    return out.getvalue()


def _followed(case: Case) -> str:
    """Whether the decision took the suggested pick: "yes", "no", or "" (undecided, or
    nothing was suggested), so a consortium sees how often its Program Manager agrees."""
    if not case.suggested_nz_mms_id or case.decision is None:
        return ""
    return "yes" if case.chosen_nz_mms_id == case.suggested_nz_mms_id else "no"


def write_decisions_csv(store: Store, out, limit: int | None = None, *, scope: Scope) -> int:
    """Writes decisions_csv's rows to `out` as they are read (memory stays flat however
    many cases); at most `limit` cases. Returns the number of cases written."""
    writer = csv.writer(out)
    written = 0
    writer.writerow(["case", "iz_mms_id", "title", "state", "decision", "kept_nz_mms_id",
                     "duplicate_nz_mms_ids", "decided_by", "decided_at", "note", "merged_nz_mms_ids",
                     "institution", "decided_as", "suggested_nz_mms_id", "suggested_rule", "followed_suggestion"])
    for case in store.iter_cases(scope=scope):
        if limit is not None and written >= limit:
            break
        written += 1
        kept = case.chosen_nz_mms_id or ""
        duplicates = [m for m in case.candidate_ids if m != kept]
        writer.writerow([case.id, case.iz_mms_id, case.iz_title, case.state, case.decision or "",
                         kept, " ".join(duplicates), case.decided_by or "", case.decided_at or "",
                         case.note or "", " ".join(case.merged), case.institution,
                         case.decider or (Decider.PROGRAM_MANAGER if case.decided_by else ""),
                         case.suggested_nz_mms_id or "", case.suggested_rule or "", _followed(case)])
    return written
