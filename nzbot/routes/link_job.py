"""The routes the link job carries out alone, and what every link-job route shares: once
its run (batching.py) is over, the record is read back (verify.py); a run Alma refused,
or one that did not link the record, fails the case with Alma's own words.

- unique: a re-check found exactly one NZ record (or a merge left one): the ordinary
  Unique OCLC link job.
- contribute: "none of these": the link job with contribution on, matching on a prefix no
  record carries, so it finds no match and imports the record as a new NZ record. (Seen
  to work in the simulator; unconfirmed on a real Alma.)
"""

from __future__ import annotations

from nzbot.linkroute import give_identifier
from nzbot.routes.base import LinkRoute
from nzbot.states import JOB_DONE, JobState, Route, RouteKind
from nzbot.store import Case


class LinkJobRoute(LinkRoute):
    def prepare(self, case: Case, route: Route) -> None:
        give_identifier(self.work.alma, case.iz_mms_id, route)  # the 035 the run matches on, if any
        self.work.start_linking(case, route)

    def due(self, case: Case) -> bool:
        if case.linking_job is None:
            return False  # still waiting for a run (batching.py)
        job = self.work.store.link_job(case.linking_job)
        if job.state == JobState.REFUSED:
            self.work.fail(case, f"Alma refused the link job: {job.note}")
            return False
        return job.state in JOB_DONE

    def not_linked(self, case: Case) -> None:
        job = self.work.store.link_job(case.linking_job)
        counters = ", ".join(f"{c.desc or c.key}: {c.value}" for c in job.counters)
        self.work.fail(case, f"Alma's link job ({job.status}) did not link IZ record "
                             f"{case.iz_mms_id}. Its report: {counters or 'no counters'}.")


class Unique(LinkJobRoute):
    kind = RouteKind.UNIQUE


class Contribute(LinkJobRoute):
    kind = RouteKind.CONTRIBUTE
