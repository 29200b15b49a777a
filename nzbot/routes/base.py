"""What a route is (see nzbot/routes/__init__.py): each step a no-op unless the route has one."""

from __future__ import annotations

from nzbot.routes.casework import CaseWork
from nzbot.states import Route, RouteKind
from nzbot.store import Case


class LinkRoute:
    kind: RouteKind

    def __init__(self, work: CaseWork) -> None:
        self.work = work

    def prepare(self, case: Case, route: Route) -> None:
        """A decided case made ready for its route, and moved to linking."""
        self.work.start_linking(case, route)

    def watch(self) -> None:
        """This route's own step in each round, before decisions are gathered into runs."""

    def due(self, case: Case) -> bool:
        """Whether a linking case is ready to be read back in Alma."""
        return False

    def not_linked(self, case: Case) -> None:
        """Read back and not linked: what then (nothing: it is watched again next round)."""

    def tidy(self) -> None:
        """This route's own step in each round, after verifying (cleaning up, telling people)."""
