"""The ways a Program Manager's decision becomes a link in Alma: one module per route.

Alma's API cannot link an existing IZ record to a chosen NZ record; its link job can, and
every route below is a way of pointing that job (or a person) at the chosen record
(nzbot/linkroute.py chooses one, in the order unique 035, token, merge, hand-off):

- `link_job.py`: the plain link-job routes, unique (a re-check found one NZ record) and
  contribute (a new NZ record), and the steps every link-job route shares;
- `unique_035.py`: the chosen record alone carries a prefixed 035: the IZ record gets it;
- `token.py`: nzbot makes such a 035 (with its own TokenState machine) and takes it off after;
- `merge.py`: the Program Manager merges the duplicates in the NZ; nzbot waits, then links;
- `handoff.py`: the cataloger links it in the Metadata Editor; nzbot watches for the link.

Around them: `batching.py` gathers decisions into shared link-job runs, `verify.py` reads
each record back before anyone is told it is linked, and `casework.py` holds the one way
a case moves. A route answers, for its cases: `prepare` (a decided case, made ready and
moved to linking), `watch` (its own step before the runs are made), `due` (its run is
over: read the record back), `not_linked` (read back, not linked: fail, or keep
watching) and `tidy` (its own step after verifying). Adding a route is one RouteKind, one
module here, one line in `Routes`, one template partial, and its tests.
"""

from __future__ import annotations

from nzbot.linkroute import choose_route
from nzbot.routes.base import LinkRoute
from nzbot.routes.casework import CaseWork
from nzbot.routes.handoff import HandOff
from nzbot.routes.link_job import Contribute, Unique
from nzbot.routes.merge import Merge
from nzbot.routes.token import TokenRoute
from nzbot.routes.unique_035 import Unique035
from nzbot.states import Decision, Route, RouteKind
from nzbot.store import Case

__all__ = ["CaseWork", "LinkRoute", "Routes"]


class Routes:
    """Every route of one member's cases, by kind."""

    def __init__(self, work: CaseWork) -> None:
        self.work = work
        self.handoff = HandOff(work)
        self.token = TokenRoute(work, self.handoff)
        self.merge = Merge(work)
        self._by_kind: dict[RouteKind, LinkRoute] = {
            route.kind: route for route in (Unique035(work), Unique(work), Contribute(work), self.token,
                                            self.merge, self.handoff)}
        assert set(self._by_kind) == set(RouteKind), "a RouteKind without its route"

    def __iter__(self):
        return iter(self._by_kind.values())

    def of(self, route: Route) -> LinkRoute:
        return self._by_kind[route.kind]

    def prepare(self, case: Case) -> None:
        """A decided case (link, merge, contribute) takes its route's first step, its IZ
        record kept as it is first."""
        self.work.keep_before_link(case)
        if case.decision == Decision.LINK and self.token.resuming(case):
            route = Route(RouteKind.TOKEN, prefix=self.work.token_prefix)  # chosen before a restart
        else:
            route = choose_route(self.work.alma, case.decision, case.chosen_nz_mms_id, self.work.token_prefix)
        self.of(route).prepare(case, route)
