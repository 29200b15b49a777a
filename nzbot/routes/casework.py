"""What every route does to a case, in one place: the one function that moves a case from
state to state and tells the people concerned (`CaseWork.move`), and the helpers each
route shares (fail, linked, the rounds a record keeps being saved by someone else).

Nothing else calls Store.move_case: a case's every move is audited, shown to the Program
Manager, told to its job's thread when it settles, and a failure brought back to the
Program Manager, the same way whichever route or decision moved it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from alma.client import AlmaClient, check_mms_id
from alma.marc import record_to_xml
from alma.models import Bib
from alma.errors import BadInput, RecordChanged
from nzbot.linkjobs import LinkJobs
from nzbot.states import CaseState, Decision, PmNotice, Route
from nzbot.store import Case, LinkJob, LinkToken, Store

log = logging.getLogger(__name__)

CASES_USER = "nzbot"  # the actor of the audit rows nzbot's own rounds write
# Rounds a record may keep being saved by someone else before each of nzbot's saves
# (RecordChanged) before that is treated as Alma refusing the save: a cataloger's editing
# ends; a version check that never passes would otherwise hold the case up for ever.
CHANGED_ROUNDS = 10
_ENDINGS = (CaseState.LINKED, CaseState.FAILED, CaseState.SKIPPED)  # told in the job's thread


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


@dataclass
class CaseWork:
    """One member's cases as the routes work on them: its store, its Alma (background
    pace), its link jobs, and the notifier that speaks to people."""

    store: Store
    alma: AlmaClient  # the background client: rounds never take the commands' share
    link_jobs: LinkJobs
    notifier: CaseNotifier
    token_prefix: str
    batch_seconds: float

    # -- the one mover ---------------------------------------------------------------

    def move(self, case: Case, from_states: tuple[str, ...] | str, to_state: CaseState, *,
             audit: str | None = None, detail: str = "", subject: str | None = None, actor: str | None = None,
             show: bool = True, **values) -> Case | None:
        """Moves `case` to `to_state` if it is still in one of `from_states` (of two movers,
        one wins); returns the moved case, or None. Then, in this order: the audit row
        (`audit` names the action), the Program Manager's messages updated (unless `show`
        is False: a detail no message shows), the job's thread told when it settles, and
        the Program Manager told of a failure (the case is back in their queue)."""
        if not self.store.move_case(case.id, from_states, to_state, **values):
            return None
        changed = to_state not in ((from_states,) if isinstance(from_states, str) else from_states)
        moved = self.store.case(case.id)
        if audit:
            self.store.audit(actor or moved.decided_by or CASES_USER, audit, subject or f"case {case.id}",
                             to_state, detail)
        if show:
            self.show(moved)
        if changed and to_state in _ENDINGS:
            self.settled(moved)
        if changed and to_state == CaseState.FAILED:
            self.tell_pm(moved, PmNotice.FAILED)  # back in the queue, to decide again
        return moved

    def start_linking(self, case: Case, route: Route, **values) -> Case | None:
        """A decided case's route is chosen and prepared: it is being linked."""
        return self.move(case, CaseState.DECIDING, CaseState.LINKING, audit="case_routed", detail=route.kind,
                         route=route, **values)

    def linked(self, case: Case, nz_mms_id: str) -> Case | None:
        return self.move(case, CaseState.LINKING, CaseState.LINKED, audit="case_linked",
                         detail=f"IZ {case.iz_mms_id} -> NZ {nz_mms_id}, verified",
                         chosen_nz_mms_id=nz_mms_id, note=None)

    def fail(self, case: Case, note: str) -> Case | None:
        return self.move(case, (CaseState.DECIDING, CaseState.LINKING), CaseState.FAILED, audit="case_failed",
                         detail=note, note=note)

    def keep_before_link(self, case: Case, bib: Bib | None = None) -> None:
        """Keeps the IZ record's MARC as it is (`bib`, when the caller has just read it),
        before anything of this decision changes it: linking replaces it with the NZ
        record's content (only local extensions survive), so what it held can be put back by
        hand (`/nz history`). Once per decision; an Alma error leaves the decision waiting
        for the next round, never linked unkept."""
        if self.store.has_kept(case.id, case.decided_at):
            return
        bib = bib if bib is not None else self.alma.get_bib(case.iz_mms_id)
        self.store.keep_record(case, record_to_xml(bib.marc()))

    # -- telling people (Slack down never stops a round) ------------------------------

    def show(self, case: Case) -> None:
        try:
            self.notifier.show_case(case)
        except Exception:  # Slack down: deliver() or the next change shows it again
            log.exception("case %s: could not show it", case.id)

    def settled(self, case: Case) -> None:
        job = self.store.link_job(case.link_job) if case.link_job else None
        try:
            self.notifier.case_settled(case, job)
        except Exception:  # Slack down: resend_outcomes sends it in a later round
            log.exception("case %s: could not tell the job's thread (it is sent again later)", case.id)

    def tell_pm(self, case: Case, what: PmNotice, token: LinkToken | None = None) -> None:
        try:
            self.notifier.tell_pm(case, what, token)
        except Exception:  # Slack down: the case's message and the Home tab still say it
            log.exception("case %s: could not tell the Program Manager (%s)", case.id, what)

    # -- shared checks ---------------------------------------------------------------

    def readable(self, case: Case) -> bool:
        """A case whose IZ record id is not an MMS ID (one opened from a forged button
        before values were checked) fails alone, saying so, instead of failing every
        Alma call it would join."""
        try:
            check_mms_id(case.iz_mms_id)
            if case.decision == Decision.LINK and case.chosen_nz_mms_id:
                check_mms_id(case.chosen_nz_mms_id)
        except BadInput as exc:
            self.fail(case, f"{exc.args[0]} This case cannot be linked; nothing was changed in Alma.")
            return False
        return True

    def being_edited(self, what: str, exc: RecordChanged) -> bool:
        """True while a record saved by someone else before each of nzbot's saves may
        still be waited for (the next round tries again), for CHANGED_ROUNDS rounds."""
        rounds = self.store.record_changed(what)
        log.warning("%s: %s (round %d of %d)", what, exc, rounds, CHANGED_ROUNDS)
        return rounds < CHANGED_ROUNDS

    def edits_over(self, what: str) -> None:
        """The save landed: a later change to the same record waits afresh."""
        self.store.record_saved(what)
