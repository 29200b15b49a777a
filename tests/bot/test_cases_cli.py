"""`nzbot cases csv`: the Program Manager's merge list, from the bot's database."""

from __future__ import annotations

import csv
import io

from bot.cli import main
from nzbot.store import Store


def test_cases_csv_lists_decisions_and_duplicates(tmp_path, monkeypatch, capsys):
    db = tmp_path / "nzbot.db"
    store = Store(str(db))
    decided = store.open_case("9911111111106391", "Birds & bees", [{"mms_id": "9911"}, {"mms_id": "9922"},
                                                                   {"mms_id": "9933"}], None)
    store.move_case(decided.id, "open", "deciding", decision="link", chosen_nz_mms_id="9922",
                    decided_by="UPROGMGR1", decided_at="2026-11-27T10:00:00+00:00")
    store.move_case(decided.id, "deciding", "linked")
    store.open_case("9922222222206391", "Still open", [{"mms_id": "9944"}, {"mms_id": "9955"}], None)
    monkeypatch.setenv("NZBOT_DB", str(db))
    assert main(["cases", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["iz_mms_id"] for r in rows] == ["9911111111106391", "9922222222206391"]
    assert rows[0]["kept_nz_mms_id"] == "9922" and rows[0]["duplicate_nz_mms_ids"] == "9911 9933"
    assert rows[0]["title"] == "Birds & bees" and rows[0]["decided_by"] == "UPROGMGR1"
    assert rows[1]["state"] == "open" and rows[1]["kept_nz_mms_id"] == ""
