"""Unreadable catalogue records through the bot over HTTP (issue 9 item 11): `/nz preview`
counts them and shows their MMS IDs while previewing the rest; `/nz match` says plainly
that the record can't be read."""

from __future__ import annotations

from alma.simulator import seed
from tests.alma.unreadable import add_unreadable_bib
from tests.bot.conftest import block_text


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
