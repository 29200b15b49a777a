"""Unreadable catalogue records through the bot over HTTP (issue 9 item 11): `/nz preview`
counts them and shows their MMS IDs while previewing the rest; `/nz match` says plainly
that the record can't be read."""

from __future__ import annotations

from alma.simulator import seed
from tests.alma.unreadable import add_unreadable_bib
from tests.bot.conftest import REPORT, block_text


def test_preview_of_a_set_with_a_broken_record_previews_the_rest(harness):
    broken = add_unreadable_bib(harness.sim.state, "Rivers of Oregon", "41234567")
    members = [seed.CASES["unique"], broken, seed.CASES["multi"]]
    set_id = harness.sim.state.make_set("Set with a broken record", members).id
    harness.start()
    _, name = harness.command(f"preview {set_id}")
    message = harness.response(name).args
    text = block_text(message)
    assert "Can't be read" in text and broken in text  # counted, and shown as the example
    assert "Will link" in text and "Multi-match" in text and seed.CASES["multi"] in text
    assert "Something went wrong" not in text
    fields = {f["text"] for b in message["blocks"] if b.get("fields") for f in b["fields"]}
    assert any("Can't be read" in f for f in fields) and any(f.strip().endswith("1") for f in fields)


def test_match_of_a_broken_record_says_it_cannot_be_read(harness):
    broken = add_unreadable_bib(harness.sim.state, "Lakes of Oregon", "41234567", how="cut")
    harness.start()
    _, name = harness.command(f"match {broken}")
    text = block_text(harness.response(name).args)
    assert "can't be read" in text and "Metadata Editor" in text and broken in text
    assert "Something went wrong" not in text and "No NZ match" not in text


def test_match_with_an_sru_url_answering_a_sign_in_page(harness):
    """A wrong ALMA_NZ_SRU_URL is not "no NZ match": the answer names SRU and the URL."""
    from tests.alma.contract.conftest import AlmaStub, Answer
    from tests.conftest import settings_for

    with AlmaStub() as portal:
        url = portal.base_url + "/view/sru/01SIM_NETWORK"
        portal.answer("GET", "/view/sru/01SIM_NETWORK", Answer(
            200, "<html><head><title>Sign in</title></head><body></body></html>", "text/html"))
        harness.overrides["alma"] = settings_for(harness.sim, nz_sru_url=url)
        harness.start()
        _, name = harness.command(f"match {seed.CASES['unique']}")
        text = block_text(harness.response(name).args)
    assert "can't search the Network Zone" in text and url in text and "SRU" in text
    assert "No NZ match" not in text and "Something went wrong" not in text


def test_a_link_job_on_a_set_with_a_broken_record(harness):
    """The job skips the record it cannot read and reports it failed; the re-check after it
    records it unreadable (an audit row, and a note naming it in the job's thread: no case,
    no crash, no loop) and the rest of the set is linked."""
    from tests.bot.test_link_jobs import reports

    broken = add_unreadable_bib(harness.sim.state, "Rivers of Oregon", "41234567")
    members = [seed.CASES["unique"], broken, seed.CASES["multi"]]
    set_id = harness.sim.state.make_set("Set with a broken record", members).id
    harness.start()
    harness.command(f"link {set_id}")
    harness.wait(lambda: [j for j in harness.store.link_jobs("reported") if j.reconciled],
                 what="the report and the re-check")
    (job,) = harness.store.link_jobs()
    counters = {c.key: c.value for c in job.counters}
    assert counters["link_bib_to_nz.failed"] == 1 and counters["link_bib_to_nz.linked"] == 1
    assert harness.sim.state.linked_nz_id_of(seed.CASES["unique"])
    assert harness.sim.state.linked_nz_id_of(broken) is None
    assert [c.iz_mms_id for c in harness.store.cases()] == [seed.CASES["multi"]]
    unreadable = [r for r in harness.store.audit_rows() if r["action"] == "record_unreadable"]
    assert [r["subject"] for r in unreadable] == [f"record {broken}"]
    notes = harness.wait(lambda: [m for m in harness.stub.messages(REPORT) if broken in block_text(m)],
                         what="the note naming the unreadable record")
    assert len(notes) == 1 and notes[0]["thread_ts"] == reports(harness)[0]["thread_ts"]
    assert "can't be read" in block_text(notes[0]) and "Metadata Editor" in block_text(notes[0])
    text = "\n".join(block_text(m) for m in harness.stub.messages(REPORT))
    assert "Something went wrong" not in text and "could not be reached" not in text
    assert len(reports(harness)) == 1


def test_preview_with_an_sru_url_answering_404(harness):
    """A wrong ALMA_NZ_SRU_URL path (the host is Alma's): one line naming SRU and the URL."""
    from tests.conftest import settings_for

    url = harness.sim.base_url + "/view/sru/NOT_THE_NETWORK"
    harness.overrides["alma"] = settings_for(harness.sim, nz_sru_url=url)
    harness.start()
    _, name = harness.command(f"preview {seed.SETS['link_test']}")
    text = block_text(harness.response(name).args)
    assert "SRU" in text and url in text and "HTTP 404" in text and "ALMA_NZ_SRU_URL" in text
    assert "No NZ match" not in text and "Something went wrong" not in text
