"""`nzbot backup PATH`: a consistent, checked copy of the database while the bot writes to
it, never over an existing file; and `nzbot --version`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading


from alma.cards import RecordCard
from bot.cli import main
from nzbot.store import Store

CARD = RecordCard(mms_id="9921", title="Birds")


def test_a_backup_while_the_bot_writes_is_whole_and_opens_as_a_database(tmp_path, monkeypatch, capsys):
    db = tmp_path / "nzbot.db"
    store = Store(str(db))
    for n in range(50):
        store.open_case(f"99{n:08d}", "Birds", [CARD, CARD], None, CARD)
    monkeypatch.setenv("NZBOT_DB", str(db))
    stop = threading.Event()

    def write() -> None:  # the bot at work meanwhile
        n = 100
        while not stop.is_set():
            store.open_case(f"99{n:08d}", "Birds", [CARD, CARD], None, CARD)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert main(["backup", str(tmp_path / "copy.db")]) == 0
    finally:
        stop.set()
        writer.join()
    said = capsys.readouterr().out
    assert "copied the database to" in said and "checked" in said and "To restore" in said
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copied = copy.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert 50 <= copied <= len(store.cases())  # one moment's cases: those before, some of those during
    assert f"{copied:,} cases" in said
    assert not (tmp_path / "copy.db-wal").exists()  # one self-contained file
    assert Store(str(tmp_path / "copy.db")).case(1).iz_mms_id == "9900000000"  # it opens as nzbot's database


def test_a_backup_never_overwrites_and_needs_a_database(tmp_path, monkeypatch, capsys):
    db = tmp_path / "nzbot.db"
    Store(str(db)).close()
    monkeypatch.setenv("NZBOT_DB", str(db))
    existing = tmp_path / "kept.db"
    existing.write_bytes(b"an older backup")
    assert main(["backup", str(existing)]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert existing.read_bytes() == b"an older backup"
    monkeypatch.setenv("NZBOT_DB", str(tmp_path / "none.db"))
    assert main(["backup", str(tmp_path / "new.db")]) == 2
    assert "There is no database" in capsys.readouterr().err and not (tmp_path / "new.db").exists()


def test_the_version():
    out = subprocess.run([sys.executable, "-m", "bot.cli", "--version"], capture_output=True, text=True, check=True)
    from importlib.metadata import version
    assert out.stdout.strip() == f"nzbot {version('nzbot')}"
