"""The store converts at its edge: cases hand out record cards and a Route, link jobs hand
out alma.models.Counter, and the columns hold what they always held (no migration)."""

from __future__ import annotations

from datetime import datetime, timezone
import json

import pytest

from alma.cards import Publication, RecordCard
from alma.models import Counter
from nzbot.states import CaseState, Route, RouteKind
from nzbot.store import NewCase, Store

IZ = "9911111111106391"


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(str(tmp_path / "nzbot.db"))


def cards() -> tuple[RecordCard, ...]:
    return (RecordCard(mms_id="991000000001451", title="Birds & bees", extent="300 p.",
                       publication=Publication(place="Paris", publisher="Gallimard", date="1950")),
            RecordCard(mms_id="991000000002451", title="Birds & bees", holding_institutions=("01ABC",)))


def test_a_case_hands_out_its_cards_as_they_went_in(store: Store) -> None:
    iz = RecordCard(mms_id=IZ, title="Birds & bees")
    case = store.open_case(IZ, "Birds & bees", cards(), None, iz)
    again = store.case(case.id)
    assert again.candidates == cards() and again.iz_card == iz and again.iz == iz
    assert again.candidate_ids == ("991000000001451", "991000000002451")
    stored = json.loads(store.db.execute("SELECT candidates FROM cases").fetchone()[0])
    assert stored == [c.as_dict() for c in cards()]  # the column's JSON is unchanged


def test_a_batch_of_cases_is_stored_as_a_case_opened_alone_is_and_in_order(store: Store) -> None:
    iz = RecordCard(mms_id=IZ, title="Birds & bees")
    alone = store.for_institution("01ONE").open_case(IZ, "Birds & bees", cards(), 7, iz)
    store.open_case("9922", "Open already", cards(), None)
    batch = [NewCase("9933", "Third", cards()), NewCase("9922", "Open already", cards()),
             NewCase(IZ, "Birds & bees", cards(), iz), NewCase("9933", "Third, twice", cards())]
    # none for a record with a case not yet settled (this member's), nor twice for one record
    assert store.open_cases(batch, 7) == [batch[0], batch[2]]
    ids = store.case_ids_of_job(7)
    assert [store.case(i).iz_mms_id for i in ids] == [IZ, "9933", IZ]

    def columns(case_id: int) -> dict:
        cursor = store.db.execute("SELECT * FROM cases WHERE id = ?", [case_id])
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
        return {k: v for k, v in row.items() if k not in ("id", "institution", "created_at", "updated_at")}

    assert columns(ids[2]) == columns(alone.id)
    assert columns(alone.id)["suggested_nz_mms_id"] or columns(alone.id)["suggestion_reasons"]
    assert store.open_cases([], 7) == []


def test_cards_stored_as_dicts_by_older_versions_still_read(store: Store) -> None:
    case = store.open_case(IZ, "Old", [{"mms_id": "991000000001451", "title": "Old"}], None)
    assert store.case(case.id).candidates == (RecordCard(mms_id="991000000001451", title="Old"),)
    assert store.case(case.id).iz == RecordCard(mms_id=IZ, title="Old")  # no IZ card: its id and title


def test_a_route_goes_in_typed_and_comes_out_typed(store: Store) -> None:
    case = store.open_case(IZ, "t", cards(), None)
    store.move_case(case.id, CaseState.OPEN, CaseState.DECIDING, decision="link")
    route = Route(RouteKind.OTHER_SYSTEM, prefix="(OrU)", identifier="(OrU)b123")
    assert store.move_case(case.id, CaseState.DECIDING, CaseState.LINKING, route=route)
    assert store.case(case.id).route == route
    assert store.db.execute("SELECT route FROM cases").fetchone()[0] == "other_system|(OrU)|(OrU)b123"


def test_the_route_codec_round_trips_and_refuses_unknown_kinds() -> None:
    for route in (Route(RouteKind.MANUAL), Route(RouteKind.TOKEN, "(NZBOT)", "(NZBOT)c7-1a2b"),
                  Route(RouteKind.CONTRIBUTE, "(NZBOT-NO-MATCH)")):
        assert Route.decode(route.encode()) == route
    assert Route.decode("manual||").kind is RouteKind.MANUAL and Route.decode("") is None
    with pytest.raises(ValueError):
        Route.decode("teleport|x|y")


def test_a_link_job_hands_out_counters(store: Store) -> None:
    job = store.add_link_job(set_id="1", set_name="s", set_size=2, requested_by="U1", channel="C1", state="queued")
    store.move_link_job(job.id, "queued", "starting")
    store.move_link_job(job.id, "starting", "running")
    counters = (Counter("link_bib_to_nz.linked", "Linked", 2), Counter("x.y", "Other", 0))
    assert store.move_link_job(job.id, "running", "finished", counters=counters)
    assert store.link_job(job.id).counters == counters
    stored = json.loads(store.db.execute("SELECT counters FROM link_jobs").fetchone()[0])
    assert stored == [["link_bib_to_nz.linked", "Linked", 2], ["x.y", "Other", 0]]


def test_a_stuck_token_of_an_older_database_is_found_by_its_row(tmp_path):
    """Databases from before link_tokens.stuck: the migration reads the old note once; from
    then on the Home tab's stuck 035s come from the row, whatever the note says."""
    import sqlite3

    from nzbot.access import EVERY_MEMBER
    from nzbot.store import Store

    path = str(tmp_path / "old.db")
    store = Store(path)
    case = store.open_case("9900000001", "Old", [{"mms_id": "9911"}, {"mms_id": "9922"}], None)
    token = store.add_link_token(case.id, "(NZBOT)c1-ab", "9922", "9900000001")
    other = store.add_link_token(case.id, "(NZBOT)c1-cd", "9911", "9900000001")
    store.close()
    conn = sqlite3.connect(path)  # as an older nzbot left it: no column, the note says it
    conn.execute("UPDATE link_tokens SET state = 'removing', stuck = NULL")
    conn.execute("UPDATE cases SET note = 'The temporary 035 (NZBOT)c1-ab is still on NZ record 9922: Alma refused.'")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm_token_stuck'")
    conn.execute("ALTER TABLE link_tokens DROP COLUMN stuck")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert [t.id for t in store.stuck_link_tokens(scope=EVERY_MEMBER)] == [token.id]
        assert other.id not in [t.id for t in store.stuck_link_tokens(scope=EVERY_MEMBER)]
        store.db.execute("UPDATE cases SET note = 'reworded by a later nzbot'")
        assert [t.id for t in store.stuck_link_tokens(scope=EVERY_MEMBER)] == [token.id]
    finally:
        store.close()


def test_a_database_of_key_value_state_is_migrated_to_typed_tables(tmp_path):
    """Before m_state_tables, bot_state held 13 key families as text ("2 <iso>" and the
    like); each is read once, into its table, and bot_state goes."""
    import sqlite3

    from nzbot.store import PostIntent, Recheck, Store

    path = str(tmp_path / "old.db")
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bot_state (key TEXT PRIMARY KEY, value TEXT)")
    conn.executemany("INSERT INTO bot_state (key, value) VALUES (?, ?)", [
        ("posting:link_job:4", "2026-11-01T10:00:00+00:00"),
        ("case_outcome:17:linked:2026-11-01T09:00:00+00:00", "posted:1700000000.000200"),
        ("case_outcome:18:failed:2026-11-01T09:30:00+00:00", "2026-11-01T09:31:00+00:00"),
        ("recheck:4", "1200"), ("recheck_unreadable:4", '["990001"]'), ("recheck_failures:4", "2 2026-11-01T11:00:00+00:00"),
        ("recheck:5", "done"),
        ("record_changed:case 17", "3"), ("dm:UPM0001", "DPM0001"),
        ("watching_since", "2026-10-01T00:00:00+00:00"), ("watching_since:01UO", "2026-10-02T00:00:00+00:00"),
        ("decided_in:DPM0001:1700000000.000100", "17"),
    ])
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm_state_tables'")
    for table in ("post_intents", "rechecks", "record_changes", "dm_channels", "alma_watches", "queue_decided"):
        conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert store.post_intent("posting:link_job:4") == PostIntent(
            "posting:link_job:4", None, "2026-11-01T10:00:00+00:00", None)
        assert store.post_intent("case_outcome:17:linked:2026-11-01T09:00:00+00:00").posted_ts == "1700000000.000200"
        [unposted] = store.unposted("case_outcome:", before=datetime(2027, 1, 1, tzinfo=timezone.utc))
        assert unposted.case_id == 18
        assert store.recheck(4) == Recheck(1200, False, ("990001",), 2, "2026-11-01T11:00:00+00:00")
        assert store.recheck(5).done and store.recheck(6) == Recheck()
        assert store.record_changed("case 17") == 4  # one more round than the 3 counted before
        assert store.dm_channel("UPM0001") == "DPM0001"
        assert store.watched_since("") == "2026-10-01T00:00:00+00:00"
        assert store.watched_since("01UO") == "2026-10-02T00:00:00+00:00"
        assert store.decided_in("DPM0001", "1700000000.000100") == 17
        assert "bot_state" not in store.db.table_names()
    finally:
        store.close()
