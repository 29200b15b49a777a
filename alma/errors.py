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


class AlmaServerError(AlmaError):
    """Alma kept answering 5xx after our bounded retries."""


class AlmaUnavailable(AlmaError):
    """Alma could not be reached: connection refused or dropped, or a timeout."""


class QuotaTooLow(AlmaError):
    """The daily API quota left is below the floor kept for people; background work stops."""


class JobLimitReached(AlmaRequestError):
    """Alma refused to run a job: too many running API jobs, or too many runs this hour."""


class BadInput(ValueError):
    """Input refused before any request was sent; the message is for a cataloger."""


def quoted(value: object, limit: int = 40) -> str:
    """What someone typed, quoted for a message: short, so the explanation after it is read."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


class RecordNotFound(AlmaRequestError):
    """No bib record with that MMS ID."""


class SetNotFound(AlmaRequestError):
    """No set with that id or name."""


class NotABibSet(BadInput):
    """The set holds something other than bib records (BIB_MMS)."""


class SruError(AlmaError):
    """The NZ's SRU endpoint answered with a diagnostic or could not be read."""


class NotSru(SruError):
    """The SRU address answered 200 with something that is not an SRU response."""


class RecordUnreadable(AlmaError):
    """Alma's copy of a bib cannot be parsed (broken MARCXML, control characters)."""
