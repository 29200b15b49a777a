"""The command line's read-only commands, run where no bot has run: each says there is no
database there and creates nothing (issue 23: `nzbot cases csv` and `nzbot history` made an
empty nzbot.db in the current folder)."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.mark.parametrize("argv, code", [
    (["cases", "csv"], 1),
    (["cases"], 1),
    (["history", "99100000106391"], 1),
    (["status"], 1),
    (["status", "--json"], 1),
    (["backup", "copy.db"], 2),
])
def test_a_read_only_command_in_an_empty_folder_creates_nothing(argv, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NZBOT_DB", raising=False)
    assert main(argv) == code
    out = capsys.readouterr()
    said = out.out + out.err
    assert f"no database at {tmp_path / 'nzbot.db'} (NZBOT_DB)" in said
    assert len(said.strip().splitlines()) == 1 and "Traceback" not in said
    assert list(tmp_path.iterdir()) == []


def test_nzbot_db_named_but_missing_is_said_too(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NZBOT_DB", str(tmp_path / "elsewhere" / "bot.db"))
    assert main(["cases", "csv"]) == 1
    assert capsys.readouterr().err == (f"nzbot: there is no database at {tmp_path / 'elsewhere' / 'bot.db'} "
                                       "(NZBOT_DB): the bot has never run here\n")
    assert list(tmp_path.iterdir()) == []
