"""The decisions CSV is written as cases are read: the CLI streams it (memory flat
however many cases), and Slack's answer takes only the first few."""

from __future__ import annotations

import csv
import io

from nzbot.access import EVERY_MEMBER
from nzbot.cases import decisions_csv, write_decisions_csv
from nzbot.store import Store


def test_the_csv_streams_and_stops_where_asked(tmp_path):
    store = Store(str(tmp_path / "nzbot.db"))
    with store.writing():
        for n in range(2000):
            store.open_case(f"99{n:08d}", f"Title {n}", [{"mms_id": f"9916{n}"}, {"mms_id": f"9917{n}"}], None)
    out = io.StringIO()
    assert write_decisions_csv(store, out, limit=30, scope=EVERY_MEMBER) == 30
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["iz_mms_id"] for r in rows] == [f"99{n:08d}" for n in range(30)]
    whole = io.StringIO()
    assert write_decisions_csv(store, whole, scope=EVERY_MEMBER) == 2000
    assert whole.getvalue() == decisions_csv(store, EVERY_MEMBER)
    assert store.newest_unsettled(("open",), 40, scope=EVERY_MEMBER)[1] == 2000
    assert store.newest_unsettled(("open",), 40, scope=EVERY_MEMBER)[0][0].iz_mms_id == "9900001999"
