"""Issue 9: what a cataloger reads when Alma refuses for a reason nzbot cannot fix itself
(a key lacking a permission, the daily quota spent) or the set does not exist: one clear
line naming the problem, in Slack and in the CLI, and nothing changed."""

from __future__ import annotations

from alma.simulator import seed
from bot.cli import main
from tests.bot.conftest import block_text
from tests.conftest import API_KEY

PERMISSION_LINE = ("The API key is not allowed to read sets: give it Configuration read/write "
                   "in the Ex Libris Developer Network (or check that ALMA_API_KEY is this "
                   "institution's key).")


def answer_text(harness, command: str) -> str:
    _, name = harness.command(command)
    return block_text(harness.response(name).args)


def test_a_key_without_the_configuration_permission_gets_one_clear_line(harness):
    harness.sim.key_permissions["Configuration"] = None
    harness.start()
    for command in (f"preview {seed.SETS['link_test']}", f"link {seed.SETS['link_test']}"):
        text = answer_text(harness, command)
        assert PERMISSION_LINE in text, text
        assert "no set" not in text.lower() and "Something went wrong" not in text
    assert harness.store.link_jobs() == []
    assert not harness.sim.state.runs


def test_a_key_without_the_bibs_permission_is_named_too(harness):
    harness.sim.key_permissions["Bibs"] = None
    harness.start()
    text = answer_text(harness, f"match {seed.CASES['unique']}")
    assert "The API key is not allowed to read bib records: give it Bibs read/write" in text


def test_a_spent_quota_is_said_as_such(harness):
    harness.start()
    harness.sim.state.quota_remaining = 0
    text = answer_text(harness, f"preview {seed.SETS['link_test']}")
    assert "daily API quota is used up" in text and "daily reset" in text
    assert "Something went wrong" not in text


def test_an_unknown_set_name_is_one_clear_line(harness):
    harness.start()
    text = answer_text(harness, "preview Unlinked print books of 1999")
    assert "There is no set named 'Unlinked print books of 1999'." in text


def test_the_cli_says_the_same_in_one_line(harness, monkeypatch, capsys):
    monkeypatch.setenv("ALMA_API_KEY", API_KEY)
    monkeypatch.setenv("ALMA_API_URL", harness.sim.base_url)
    monkeypatch.setenv("ALMA_NZ_SRU_URL", harness.sim.sru_url)
    harness.sim.key_permissions["Configuration"] = None
    assert main(["preview", seed.SETS["link_test"]]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"nzbot: {PERMISSION_LINE} (Alma error UNAUTHORIZED: API-key not defined")
    assert captured.err.count("\n") == 1 and captured.out == ""
    harness.sim.key_permissions["Configuration"] = "read/write"
    assert main(["preview", "No such set anywhere"]) != 0
    assert capsys.readouterr().err == "nzbot: There is no set named 'No such set anywhere'.\n"
