"""Domain errors to words a cataloger understands: the one place that does it."""

from __future__ import annotations

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
    return "Something went wrong inside nzbot; nothing was changed. The error has been logged."
