"""The scheduler's rounds read no schema (issue 24): sqlite-utils' Table API reads
sqlite_master and PRAGMA table_info on every call, `db[name]` included, which was ~7% of a
40-member bot's rounds; past the migrations the store speaks plain SQL. Every statement
the rounds send is traced, on every connection they open (the rounds' own thread and the
member's workers), through a link job, its re-check opening its case, and idle rounds."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest

from alma.simulator import seed
from bot.app import create_bot

SCHEMA_READS = re.compile(
    r"sqlite_(master|schema)|PRAGMA\s+(\w+\.)?(table_x?info|table_list|index_(list|x?info)|foreign_key_list)", re.I)


@pytest.fixture
def traced(monkeypatch):
    """Every SQL statement sent on a connection opened from here on, in order."""
    statements: list[str] = []
    lock = threading.Lock()

    def trace(sql: str) -> None:
        with lock:
            statements.append(sql)

    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    return statements


def run_round(bot) -> None:
    """Each of the scheduler's jobs once, as its timer would run it, and the rounds they
    hand to the bot's pools run to their end."""
    for job in bot.scheduler.scheduler.get_jobs():
        job.func(*job.args, **job.kwargs)
    deadline = time.monotonic() + 30
    while bot.scheduler.busy:
        assert time.monotonic() < deadline, "the rounds handed over ended"
        time.sleep(0.01)


def test_rounds_read_no_schema_through_a_link_job_its_recheck_and_idle_rounds(harness, traced):
    harness.bot = bot = create_bot(harness.settings(), start_scheduler=False)
    traced.clear()  # the migrations read the schema, once, at start-up
    store = bot.services.store
    bot.services.link_jobs.request(seed.SETS["link_test"], "UCATALOG1", "CREPORT01")
    deadline = time.monotonic() + 30
    while not (store.link_jobs()[0].reconciled and store.queue_messages_of(store.link_jobs()[0].id)):
        assert time.monotonic() < deadline, "the link job re-checked and its queue message posted"
        run_round(bot)
        time.sleep(0.1)
    busy = len(traced)
    for _ in range(3):  # idle: nothing left to do
        run_round(bot)
    assert [s for s in traced if SCHEMA_READS.search(s)] == []
    assert any(re.match(r'INSERT INTO "?cases\b', s) for s in traced[:busy])  # the re-check opened its case
    assert any(re.search(r'INTO "?heartbeat\b', s) for s in traced[busy:])  # the idle rounds were traced
