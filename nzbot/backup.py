"""A consistent copy of nzbot's database while the bot runs: SQLite's online backup, which
copies the pages as of one moment even while the bot writes (WAL mode), then checks the
copy. Restoring is copying the file back while the bot is stopped (README, "Deploying")."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alma.errors import BadInput
from nzbot.store import NoDatabase, existing_database

PAGES_PER_STEP = 1024  # the bot's writers wait at most one step's copy (about 4 MB)


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int  # bytes
    cases: int
    link_jobs: int


def backup(db_path: str, to: str) -> Backup:
    """Copies the database at `db_path` to `to` (a new file), checked. BadInput when there is
    no database there, or `to` exists already: a backup never overwrites."""
    source, target = Path(db_path), Path(to)
    try:
        existing_database(db_path)
    except NoDatabase as exc:
        raise BadInput(f"{str(exc)[:1].upper()}{str(exc)[1:]}; nothing was copied.") from None
    if target.exists():
        raise BadInput(f"{target} exists already: a backup never overwrites a file. Give a new name.")
    if not target.parent.is_dir():
        raise BadInput(f"There is no folder {target.parent}: nothing was copied.")
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as live, sqlite3.connect(target) as copy:
        live.backup(copy, pages=PAGES_PER_STEP)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BadInput(f"The copy at {target} failed SQLite's integrity check ({verdict}): do not rely on it.")
        cases = _count(copy, "cases")
        jobs = _count(copy, "link_jobs")
    return Backup(target, target.stat().st_size, cases, jobs)


def _count(db: sqlite3.Connection, table: str) -> int:
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # a database from before that table
        return 0
