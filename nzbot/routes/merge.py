"""The merge route: the Program Manager says the candidates are duplicates and merges
them in the NZ (no API can), the chosen one as primary. nzbot looks the record up each
round; once only the chosen record carries the OCLC number, the case turns to the
ordinary Unique OCLC run, and the other open cases on those NZ records are re-checked."""

from __future__ import annotations

from alma.matching import Verdict
from alma.preview import look_up
from nzbot.routes.base import LinkRoute
from nzbot.routes.casework import CASES_USER
from nzbot.states import DECIDABLE, CaseState, Decision, Route, RouteKind
from nzbot.store import Case, now
from nzbot.text import VERDICTS


class Merge(LinkRoute):
    kind = RouteKind.MERGE

    def watch(self) -> None:
        work = self.work
        for case in work.store.cases(CaseState.LINKING):
            if case.route is None or case.route.kind != RouteKind.MERGE:
                continue
            match = look_up(work.alma, case.iz_mms_id)
            chosen = case.chosen_nz_mms_id
            duplicates = [m for m in case.candidate_ids if m != chosen]
            if match.verdict is Verdict.MULTI:
                continue  # not merged yet
            if match.verdict is Verdict.LINKED and match.linked_nz_mms_id == chosen:
                merged = work.move(case, CaseState.LINKING, CaseState.LINKING, show=False, merged=duplicates)
                if merged is not None:
                    work.linked(merged, chosen)
            elif match.verdict is Verdict.UNIQUE and match.candidates[0].mms_id == chosen:
                work.move(case, CaseState.LINKING, CaseState.LINKING, route=Route(RouteKind.UNIQUE),
                          linking_job=None, merged=duplicates, audit="case_merged",
                          detail=f"{' '.join(duplicates)} merged into {chosen}")
            elif match.verdict is Verdict.LINKED:
                work.fail(case, f"IZ record {case.iz_mms_id} is linked to NZ record "
                                f"{match.linked_nz_mms_id}, not to the chosen {chosen}.")
                continue
            elif match.verdict is Verdict.UNIQUE:
                work.fail(case, f"After the merge NZ record {match.candidates[0].mms_id} carries the "
                                f"OCLC number, not the chosen {chosen}.")
                continue
            else:
                work.fail(case, f"While waiting for the merge: {VERDICTS[match.verdict].meaning}; "
                                "no single NZ record to link to.")
                continue
            self._recheck_others(case)

    def _recheck_others(self, merged: Case) -> None:
        """Every other open case on the merged NZ records, or one handed to its cataloger,
        is looked up again: those now unique are linked the ordinary way."""
        ids = set(merged.candidate_ids)
        for other in self.work.store.cases(*DECIDABLE, CaseState.LINKING):
            if other.id == merged.id or not ids & set(other.candidate_ids):
                continue
            if other.state == CaseState.LINKING and (other.route is None or other.route.kind != RouteKind.MANUAL):
                continue  # a link job or a merge is on it; a hand-off would wait for a record merged away
            self.work.move(other, other.state, CaseState.DECIDING, decision=Decision.RECHECK,
                           decided_by=merged.decided_by or CASES_USER, decided_at=now(),
                           chosen_nz_mms_id=None, route=None, linking_job=None, note=None,
                           handed_to=None, handoff_ts=None, audit="case_recheck_after_merge",
                           actor=CASES_USER, detail=f"NZ duplicates merged in case {merged.id}")
