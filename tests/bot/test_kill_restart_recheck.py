"""`kill -9` of a real `nzbot run` in the middle of a link job's re-check, then a new process
on the same database: each chunk's cases are written in one batch with the position reached,
so the killed pass left exactly the cases of the chunks it recorded, and the new process
resumes there. Every multi-match of the set ends as one case and one audit line, in the
set's order: none lost, none twice."""

from __future__ import annotations

import pytest

from alma.simulator import Simulator, seed
from tests.bot.subprocess_bot import wait_until
from tests.bot.subprocess_bot import bot, stub  # noqa: F401 (fixtures)
from tests.conftest import API_KEY

RECORDS = 3000  # three chunks of the re-check


@pytest.fixture
def sim():
    with Simulator(state=seed.generate_state(RECORDS, seed=3), api_key=API_KEY, job_seconds=0.6,
                   seed=1) as simulator:
        yield simulator


def test_killed_in_the_middle_of_the_recheck_each_multi_match_is_one_case(sim, bot):
    members = next(s for s in sim.state.sets.values() if s.name == seed.GENERATED_SET_NAME)
    in_order = [m for m in members.member_ids() if getattr(sim.state.iz[m], "case", None) == "multi"]
    assert len(in_order) == RECORDS * 8 // 100
    sim.faults.latency = 0.05  # the pass takes a few seconds: time to kill it in the middle
    bot.start()
    answer, _ = bot.command(f"link {members.id}")
    assert answer.status_code == 200
    job = wait_until(lambda: next(iter(bot.store.link_jobs("reported")), None), timeout=60, what="the job reported")
    wait_until(lambda: bot.store.recheck(job.id).position > 0, timeout=60, what="the re-check's first chunk recorded")
    bot.kill()

    stopped = bot.store.recheck(job.id)
    assert not stopped.done and 0 < stopped.position < RECORDS
    recorded = set(members.member_ids()[:stopped.position])
    opened = [bot.store.case(i).iz_mms_id for i in bot.store.case_ids_of_job(job.id)]
    assert opened == [m for m in in_order if m in recorded]  # the chunks recorded, and only those

    bot.start()
    wait_until(lambda: bot.store.link_job(job.id).reconciled, timeout=60, what="the re-check resumed and done")
    cases = [bot.store.case(i) for i in bot.store.case_ids_of_job(job.id)]
    assert [c.iz_mms_id for c in cases] == in_order
    assert all(c.state == "open" and len(c.candidates) >= 2 for c in cases)
    audited = [r["subject"] for r in bot.store.audit_rows() if r["action"] == "case_opened"]
    assert audited == [f"record {m}" for m in in_order]
