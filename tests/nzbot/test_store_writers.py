"""Two writers at once on the store's database: every transaction that writes begins
with BEGIN IMMEDIATE, so the second waits its turn instead of failing with
"database is locked" (a deferred BEGIN that has read cannot upgrade in WAL mode once
another connection has written)."""

from __future__ import annotations

import threading
import time

from nzbot.store import Store


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path):
    store = Store(str(tmp_path / "nzbot.db"))
    holding, release = threading.Event(), threading.Event()

    def first_writer() -> None:  # e.g. case delivery recording a posted message
        with store.db.atomic():
            store.add_case_message(1, "D0000PM01", "1.0")
            holding.set()
            release.wait(5)

    first = threading.Thread(target=first_writer)
    first.start()
    assert holding.wait(5)
    opened, errors = [], []

    def second_writer() -> None:  # the re-check reading, then writing, a case
        try:
            opened.append(store.open_case("9911", "A title", [{"mms_id": "99A"}], None))
        except Exception as exc:  # "database is locked" with a deferred BEGIN
            errors.append(exc)

    second = threading.Thread(target=second_writer)
    second.start()
    time.sleep(0.3)  # the second writer is now waiting (or, deferred, has read already)
    release.set()
    first.join(5)
    second.join(5)
    assert errors == []
    assert opened and opened[0] is not None and opened[0].iz_mms_id == "9911"
    assert store.case_messages(1) == [("D0000PM01", "1.0")]


def test_many_writes_from_two_threads_all_land(tmp_path):
    store = Store(str(tmp_path / "nzbot.db"))
    errors = []

    def cases(prefix: str) -> None:
        try:
            for n in range(150):
                case = store.open_case(f"99{prefix}{n}", "t", [], None)
                store.add_case_message(case.id, "D1", f"{prefix}.{n}")
                store.audit("nzbot", "case_opened", f"record {case.iz_mms_id}", "open")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cases, args=(p,)) for p in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(store.cases("open")) == 300
    assert len(store.audit_rows()) == 300
