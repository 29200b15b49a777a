"""Issue 9 item 9 in Slack: a report whose counters are all unknown shows Alma's counters as
they come, under "Counts from Alma", and no row of ours as 0."""

from __future__ import annotations

from bot.messages import job_report_message
from nzbot.report import job_report
from tests.bot.test_messages import link_job
from tests.bot.conftest import block_text


def test_unknown_counters_are_shown_as_alma_sends_them():
    job = link_job(state="finished", status="COMPLETED_SUCCESS", instance_id="9563643080000561",
                   counters=(("link_to_nz.records_linked", "Number of records linked", 41),
                             ("link_to_nz.records_multi", "Number of records with multiple matches", 3)))
    message = job_report_message(job_report(job)).as_kwargs()
    text = block_text(message)
    assert "Counts from Alma:" in text and "Other counts" not in text
    assert "Number of records linked: 41" in text and "Number of records with multiple matches: 3" in text
    assert "Linked" not in text.replace("records linked", "")  # no "Linked 0" row of ours
    assert all(block.get("fields") is None for block in message["blocks"])


def test_known_counters_keep_their_rows():
    job = link_job(state="finished", status="COMPLETED_SUCCESS", instance_id="1",
                   counters=(("link_bib_to_nz.linked", "Records linked", 7), ("x.y", "Other thing", 2)))
    text = block_text(job_report_message(job_report(job)).as_kwargs())
    assert "Linked" in text and "Other counts from Alma:" in text and "Other thing: 2" in text
