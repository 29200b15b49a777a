"""Where `nzbot probe` learned that Alma lists a link job's multi-matches (MULTI_MATCHES),
the re-check after the job reads only those records again, not the whole set: the same
cases, far fewer calls. Without the fact, or when Alma will not list them, the whole set."""

from __future__ import annotations

from alma.simulator import seed
from nzbot.facts import MULTI_MATCHES_LIST

MEMBERS = "GET /almaws/v1/conf/sets/{set_id}/members"
LISTED = "GET /almaws/v1/conf/jobs/{job_id}/instances/{instance_id}/matches"


def cases_after_the_job(harness) -> set[str]:
    harness.command(f"link {seed.SETS['unlinked']}")
    harness.wait(lambda: any(j.reconciled for j in harness.store.link_jobs("reported")), timeout=40,
                 what="the job reported and its set re-checked")
    return {c.iz_mms_id for c in harness.store.cases()}


def test_the_listed_multi_matches_are_read_instead_of_the_whole_set(harness):
    harness.sim.state.answers.multi_matches_listed = True
    harness.start()
    harness.store.learn_fact(MULTI_MATCHES_LIST, True)
    found = cases_after_the_job(harness)
    multi = {seed.CASES[n] for n in ("multi", "multi_three", "multi_via_z", "multi_language", "serial_multi",
                                     "multi_ebook")}
    assert found == multi
    assert harness.sim.calls[LISTED] == 1
    assert harness.sim.calls[MEMBERS] == 0  # the set was not read again


def test_without_the_fact_the_whole_set_is_read(harness):
    harness.sim.state.answers.multi_matches_listed = True  # Alma would list them: nzbot does not know
    harness.start()
    found = cases_after_the_job(harness)
    assert len(found) == 6 and harness.sim.calls[LISTED] == 0 and harness.sim.calls[MEMBERS] >= 1


def test_a_listing_alma_refuses_falls_back_to_the_whole_set(harness):
    harness.start()  # Alma refuses the listing for the link job
    harness.store.learn_fact(MULTI_MATCHES_LIST, True)  # a fact learned on another Alma, say
    found = cases_after_the_job(harness)
    assert len(found) == 6 and harness.sim.calls[LISTED] == 1 and harness.sim.calls[MEMBERS] >= 1
