"""Alma calls counted per piece of work (one preview, one lookup), not per client.

The bot shares one client among every cataloger's commands and its scheduler, so the
client's own tally (`AlmaHttp.calls`) mixes them. A piece of work counts its calls on a
`CallTally` that is current in its context while it runs; `AlmaHttp.request` adds each call
sent to every tally current there. Context variables belong to a thread, so work that fans
out runs its tasks in a `WorkPool`, whose tasks carry the submitter's context with them.
"""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

# The tallies of the pieces of work the current code runs for, outermost first.
_current: contextvars.ContextVar[tuple["CallTally", ...]] = contextvars.ContextVar(
    "alma_call_tallies", default=())


class CallTally:
    """Calls sent to Alma for one piece of work, by endpoint ("GET /bibs"), from whatever
    threads the work runs in."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator["CallTally"]:
        """Counts the calls made inside the block (and in its WorkPool tasks) on this tally,
        and on any tally already counting around it."""
        active = _current.get()
        token = _current.set(active if self in active else (*active, self))
        try:
            yield self
        finally:
            _current.reset(token)

    def add(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    @property
    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


def count_call(endpoint: str) -> None:
    """One call sent to Alma, on the tallies of the work it was sent for (if any)."""
    for tally in _current.get():
        tally.add(endpoint)


# Reading Alma's answers (JSON, MARC XML into pymarc records) and matching what was read
# is CPU work in Python. One nzbot serving 40 members has a hundred threads or more that may
# be doing it at once; each of them queues for the GIL, and a thread answering Slack then
# waits behind all of them (hundreds of ms per step of a request, seconds in all). Doing it
# one thread at a time keeps one thread CPU-bound, not a hundred: in bench/consortium.py
# (40 members), GC_THRESHOLDS (bot/app.py) and gating the parsing took ack p99 from 2.1 s
# to ~0.5 s; gating the matching too, from ~0.5 s to ~0.1 s. The gate is held only over
# bytes already received and records already read, never across a call to Alma or a
# database wait, so one member's slow or absent Alma never holds another's work up.
_reading = threading.Lock()


@contextmanager
def reading() -> Iterator[None]:
    """Around turning Alma's answers into objects, or matching them: one thread at a time."""
    with _reading:
        yield


class WorkPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitting thread's context, so the
    Alma calls they make are counted on the submitter's piece of work."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
