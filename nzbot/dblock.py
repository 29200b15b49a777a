"""One bot per database: `nzbot run` holds an OS lock on a file beside NZBOT_DB for as long
as it runs, so a second bot on the same database stops at start-up (two bots would each
post every completion report). The lock is the kernel's (flock): a bot killed with -9
leaves no stale lock behind, only the file, which the next bot takes."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from alma.config import SettingError
from nzbot.store import DatabaseUnwritable


class DatabaseInUse(SettingError):
    """Another nzbot holds this database's lock."""


def lock_path(db_path: str) -> str:
    return f"{db_path}.lock"


def holder(db_path: str) -> int | None:
    """The process id of the bot holding `db_path`'s lock; None when none does."""
    if db_path == ":memory:" or not os.path.exists(lock_path(db_path)):
        return None
    try:
        lock = BotLock(db_path)
    except DatabaseInUse as exc:
        return exc.pid
    lock.release()
    return None


class BotLock:
    """Held from construction until `release` (or the process's end)."""

    def __init__(self, db_path: str) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None
        if db_path == ":memory:":
            return
        shown = str(Path(db_path).expanduser().absolute())
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # as the database itself would be: said in the same words
            raise DatabaseUnwritable(db_path, f"its lock file {self.path} cannot be created "
                                              f"({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            error = DatabaseInUse(
                f"NZBOT_DB={shown}: another nzbot is running on this database"
                f"{f' (process {pid})' if pid else ''}. One bot per database: stop that one first, "
                "or give this one a NZBOT_DB of its own.")
            error.pid = pid
            raise error from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
