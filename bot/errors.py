"""Domain errors to words a cataloger understands: the one place that does it."""

from __future__ import annotations

import logging

from alma.errors import (
    AlmaBlocked,
    AlmaError,
    AlmaRateLimited,
    AlmaServerError,
    AlmaUnavailable,
    BadInput,
    JobNotFound,
    NotSru,
    RecordNotFound,
    RecordUnreadable,
    SetNameTaken,
    SetNotFound,
)
from nzbot.store import BUSY, UNWRITABLE, DatabaseLost, database_fault

log = logging.getLogger(__name__)

DATABASE_BUSY = ("nzbot is busy: its database is held by other work right now. Nothing was changed; "
                 "please try again in a moment.")
DATABASE_UNWRITABLE = "nzbot cannot write its database; nothing was changed."
DATABASE_LOST = ("nzbot has lost its database file and has stopped taking work: nothing was changed. "
                 "Please tell whoever runs nzbot; it needs the file restored and a restart.")


def user_message(exc: Exception) -> str:
    # A permission the key lacks or the quota spent: the message names the problem itself.
    if isinstance(exc, (BadInput, RecordNotFound, RecordUnreadable, SetNotFound, SetNameTaken,
                        JobNotFound, AlmaBlocked)):
        return exc.message if isinstance(exc, AlmaError) else str(exc)
    if isinstance(exc, AlmaUnavailable):
        return (f"Alma is not answering right now ({exc.message}). Nothing was changed; "
                "please try again in a few minutes.")
    if isinstance(exc, (AlmaServerError, AlmaRateLimited)):
        return (f"Alma is having trouble right now ({exc}). Nothing was changed; "
                "please try again in a few minutes.")
    if isinstance(exc, NotSru):  # a setting is wrong: no point in trying again
        return (f"nzbot can't search the Network Zone: {exc.message} Whoever runs nzbot can "
                "fix this; nothing was changed.")
    if isinstance(exc, AlmaError):
        return f"Alma refused the request: {exc}"
    if isinstance(exc, DatabaseLost):  # logged once, when the round noticed it
        return DATABASE_LOST
    fault = database_fault(exc)
    if fault == BUSY:
        log.warning("database busy (%s): %s", getattr(exc, "sqlite_errorname", "?"), exc, exc_info=exc)
        return DATABASE_BUSY
    if fault == UNWRITABLE:
        log.error("cannot write the database (NZBOT_DB): %s", exc)
        return DATABASE_UNWRITABLE
    # Said only where it is true: the one place that words an unexpected error logs it.
    log.error("unexpected error: %s", type(exc).__name__, exc_info=(type(exc), exc, exc.__traceback__))
    return "Something went wrong inside nzbot; nothing was changed. The error has been logged."
