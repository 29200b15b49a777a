"""Every route ends the same way: the IZ record is read back, and its linked record must be
the chosen NZ record (or, contributed, a new one) before anyone is told it is linked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from alma.models import Bib
from nzbot.routes.casework import CaseWork
from nzbot.states import CaseState, Decision
from nzbot.store import Case

if TYPE_CHECKING:
    from nzbot.routes import Routes

log = logging.getLogger(__name__)


def verify_linking(work: CaseWork, routes: "Routes") -> None:
    """Reads back, in one call, each linking record whose route says it is due."""
    due = [c for c in work.store.cases(CaseState.LINKING) if work.readable(c) and routes.of(c.route).due(c)]
    if not due:
        return
    bibs = {b.mms_id: b for b in work.alma.get_bibs([c.iz_mms_id for c in due])}
    for case in due:
        try:
            _verify(work, routes, case, bibs.get(case.iz_mms_id))
        except Exception:  # one case's surprise must not keep the others "linking"
            log.exception("case %s: verifying failed", case.id)


def _verify(work: CaseWork, routes: "Routes", case: Case, bib: Bib | None) -> None:
    """Case by case: linked as chosen, or failed saying how (or, for its route, watched on)."""
    linked = bib.linked_nz_mms_id if bib else None
    if case.decision == Decision.CONTRIBUTE and linked and linked not in case.candidate_ids:
        work.linked(case, linked)
    elif linked and linked == case.chosen_nz_mms_id:
        work.linked(case, linked)
    elif bib is None:
        work.fail(case, f"IZ record {case.iz_mms_id} is no longer in Alma.")
    elif linked:
        work.fail(case, f"Alma linked IZ record {case.iz_mms_id} to NZ record {linked}, "
                        f"not to the chosen {case.chosen_nz_mms_id or 'new record'}.")
    else:
        routes.of(case.route).not_linked(case)
