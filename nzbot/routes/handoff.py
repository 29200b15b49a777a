"""The hand-off (manual): no other route can point the link job at the chosen record, so
the cataloger who started the job (or sent the case) links it in the Metadata Editor
(Method 2 of the guidance) with both MMS IDs in hand; nzbot watches the record each round
(verify.py) until it is linked, and then says so. A hand-off Slack did not take is posted
again in a later round."""

from __future__ import annotations

import logging

from nzbot.routes.base import LinkRoute
from nzbot.routes.casework import CASES_USER
from nzbot.states import CaseState, PmNotice, Route, RouteKind
from nzbot.store import Case

log = logging.getLogger(__name__)


class HandOff(LinkRoute):
    kind = RouteKind.MANUAL

    def prepare(self, case: Case, route: Route, note: str | None = None) -> None:
        """Hands the case to its cataloger (`note`: why, when another route was refused)."""
        extra = {"note": note} if note else {}
        moved = self.work.start_linking(case, Route(RouteKind.MANUAL), handed_to=self._cataloger_of(case), **extra)
        if moved is not None:
            self._hand_off(moved)

    def due(self, case: Case) -> bool:
        return True  # watched until a person links it

    def tidy(self) -> None:
        """Hand-offs not yet posted (Slack was down) go out now."""
        for case in self.work.store.cases(CaseState.LINKING):
            if case.route is not None and case.route.kind == RouteKind.MANUAL and not case.handoff_ts:
                self._hand_off(case)

    def _hand_off(self, case: Case) -> None:
        job = self.work.store.link_job(case.link_job) if case.link_job else None
        try:
            ts = self.work.notifier.hand_off(case, job)
        except Exception:  # Slack down: tidy tries again
            log.exception("case %s: could not hand it off", case.id)
            return
        if not ts:
            return
        moved = self.work.move(case, CaseState.LINKING, CaseState.LINKING, show=False, handoff_ts=ts,
                               audit="case_handed_off", detail=case.handed_to or "the report channel")
        if moved is not None:
            self.work.tell_pm(moved, PmNotice.HANDED_OFF)

    def _cataloger_of(self, case: Case) -> str:
        """Who gets a hand-off: the cataloger who sent the case, or who started the link
        job that revealed it; "" when that was nobody in Slack (a run started in Alma)."""
        if case.requested_by:
            return case.requested_by
        if case.link_job:
            who = self.work.store.link_job(case.link_job).requested_by
            if who and who not in ("alma", CASES_USER):
                return who
        return ""
