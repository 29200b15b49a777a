"""Typed errors for everything that can go wrong talking to Alma.

Each carries what Alma said (HTTP status, errorCode, errorMessage, trackingId) so that a
cataloger or a systems librarian can quote it to Ex Libris support.
"""

from __future__ import annotations


class AlmaError(Exception):
    """Alma answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        tracking_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.tracking_id = tracking_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"(Alma error {self.code})")
        if self.tracking_id:
            parts.append(f"[tracking id {self.tracking_id}]")
        return " ".join(parts)


class AlmaRequestError(AlmaError):
    """Alma refused the request (a 4xx other than rate limiting)."""


class AlmaRateLimited(AlmaError):
    """Alma kept answering 429 after our bounded retries."""


class AlmaBlocked(AlmaError):
    """A refusal that repeating cannot get past: a permission the API key lacks, or the
    daily quota spent. Background work stops on it and says so once, not every round."""

    #: what is blocked, e.g. "permission Configuration read" or "quota": one notice each
    blockage = "alma"


class AlmaPermissionError(AlmaBlocked, AlmaRequestError):
    """The API key lacks a permission this call needs (Alma's errorCode UNAUTHORIZED)."""

    def __init__(self, message: str, *, permission: str = "", access: str = "read",
                 alma_message: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.permission = permission  # Alma's API area: "Bibs", "Configuration"
        self.access = access  # "read" or "write"
        self.alma_message = alma_message  # Alma's own words, for the log and support
        self.blockage = f"permission {permission} {access}"

    def __str__(self) -> str:  # people read .message; the log and the CLI get Alma's words too
        said = f": {self.alma_message}" if self.alma_message else ""
        tracking = f" [tracking id {self.tracking_id}]" if self.tracking_id else ""
        return f"{self.message} (Alma error {self.code}{said}){tracking}"


class QuotaSpent(AlmaBlocked, AlmaRateLimited):
    """Alma's daily API quota is spent (429 DAILY_THRESHOLD): every call is refused until
    Alma's daily count resets, so it is never retried."""

    blockage = "quota"

    def __str__(self) -> str:
        return self.message


class AlmaServerError(AlmaError):
    """Alma kept answering 5xx after our bounded retries."""


class AlmaUnavailable(AlmaError):
    """Alma could not be reached: connection refused or dropped, or a timeout."""


class QuotaTooLow(AlmaBlocked):
    """The daily API quota left is below the floor kept for people; background work stops."""


class JobLimitReached(AlmaRequestError):
    """Alma refused to run a job for now: too many running API jobs, too many runs this
    hour, or a run of the same job still running (60347)."""


class JobStartUncertain(AlmaError):
    """Alma accepted a job run but its answer does not say which run it is: the run may
    well exist, so the request is never marked refused; the instance list tells."""


class BadInput(ValueError):
    """Input refused before any request was sent; the message is for a cataloger."""


def quoted(value: object, limit: int = 40) -> str:
    """What someone typed, quoted for a message: short, so the explanation after it is read."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


class RecordNotFound(AlmaRequestError):
    """No bib record with that MMS ID."""


class RecordChanged(AlmaRequestError):
    """Alma refuses a save made from a copy of the record older than the one it holds
    (4022034, with stale_version_check): someone saved the record in between."""


class SetNotFound(AlmaRequestError):
    """No set with that id or name."""


class SetNameTaken(AlmaRequestError):
    """Alma refuses a new set whose name another set has (402263)."""


class JobNotFound(AlmaRequestError):
    """No job, or no run of it, with that id."""


class NotABibSet(BadInput):
    """The set holds something other than bib records (BIB_MMS)."""


class SruError(AlmaError):
    """The NZ's SRU endpoint answered with a diagnostic or could not be read."""


class NotSru(SruError):
    """The SRU address answered 200 with something that is not an SRU response."""


class RecordUnreadable(AlmaError):
    """Alma's copy of a bib cannot be parsed (broken MARCXML, control characters)."""
