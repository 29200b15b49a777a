"""Alma calls counted per piece of work (one preview, one lookup), not per client.

The bot shares one client among every cataloger's commands and its scheduler, so the
client's own tally (`AlmaHttp.calls`) mixes them. A piece of work counts its calls on a
`CallTally` that is current in its context while it runs; `AlmaHttp.request` adds each call
sent to every tally current there. Context variables belong to a thread, so work that fans
out runs its tasks in a `FairPool`, whose tasks carry the submitter's context with them.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, wait
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
        """Counts the calls made inside the block (and in its FairPool tasks) on this tally,
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


class FairPool:
    """A bounded set of threads shared by many lanes (one a member institution, one an
    Alma client). Each thread takes the next task from the lanes in turn, never from a lane
    already running `per_lane` tasks: a lane with a long queue (one member's 100,000-record
    set) never holds another lane's work up, and the process's threads stay at `threads`
    however many lanes there are. Threads start when work first needs them. A task runs
    in a copy of its submitter's context (the Alma calls it makes are counted on the
    submitter's work). A task must never wait on another task of the same pool: a
    full pool would wait on itself."""

    def __init__(self, threads: int, per_lane: int, name: str) -> None:
        self.threads, self.per_lane, self.name = threads, max(1, min(per_lane, threads)), name
        self._changed = threading.Condition()
        self._queued: dict[Hashable, deque[tuple[Future, Callable[[], object]]]] = {}
        self._turns: deque[Hashable] = deque()  # lanes with queued work, next in turn first
        self._running: Counter[Hashable] = Counter()
        self._workers: list[threading.Thread] = []
        self._idle = 0  # threads waiting for work
        self._waking = 0  # of those, already notified: each notify is for one task
        self._closed = False

    def lane(self, key: Hashable) -> "Lane":
        return Lane(self, key)

    def submit(self, key: Hashable, fn: Callable, /, *args, **kwargs) -> Future:
        future: Future = Future()
        context = contextvars.copy_context()
        with self._changed:
            if self._closed:
                raise RuntimeError(f"{self.name}: cannot take work after shutdown")
            if key not in self._queued:
                self._queued[key] = deque()
                self._turns.append(key)
            self._queued[key].append((future, lambda: context.run(fn, *args, **kwargs)))
            if self._idle > self._waking:
                self._wake()
            elif len(self._workers) < self.threads:
                worker = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self.name}-{len(self._workers) + 1}")
                self._workers.append(worker)
                worker.start()
        return future

    def offer(self, key: Hashable, fn: Callable, /, *args, **kwargs) -> Future | None:
        """`fn` submitted if a thread can take it now (nothing queued, the lane under its
        share); else None, and the caller does the work itself when it needs it."""
        with self._changed:
            free = self._idle > self._waking or len(self._workers) < self.threads
            if self._closed or self._queued or not free or self._running[key] >= self.per_lane:
                return None
            return self.submit(key, fn, *args, **kwargs)  # the lock is reentrant

    def map(self, key: Hashable, fn: Callable, items: Iterable) -> Iterator:
        """Executor.map on one lane: results in the order of `items`. Stopped early (a call
        failed), it cancels the tasks not begun and waits for those running: no call of a
        failed piece of work is still sent after it has failed."""
        futures = [self.submit(key, fn, item) for item in items]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
            wait(futures)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self._changed:
            self._closed = True
            if cancel_futures:
                for queue in self._queued.values():
                    for future, _ in queue:
                        future.cancel()
                self._queued.clear()
                self._turns.clear()
            self._changed.notify_all()
        if wait:
            self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Waits up to `timeout` seconds (None: as long as it takes) for the threads to end
        after shutdown; whether they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            workers = list(self._workers)
        for worker in workers:
            if worker is not threading.current_thread():
                worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(w.is_alive() for w in workers if w is not threading.current_thread())

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> int:
        """Threads started so far (never more than `threads`)."""
        with self._changed:
            return len(self._workers)

    def _next(self) -> tuple[Hashable, Future, Callable[[], object]] | None:
        """The next task in turn, its lane sent to the back; None when none may run now.
        Called with the lock held."""
        for _ in range(len(self._turns)):
            key = self._turns[0]
            self._turns.rotate(-1)
            if self._running[key] >= self.per_lane:
                continue
            future, task = self._queued[key].popleft()
            if not self._queued[key]:
                del self._queued[key]
                self._turns.remove(key)
            return key, future, task
        return None

    def _work(self) -> None:
        while True:
            with self._changed:
                while (found := self._next()) is None:
                    if self._closed and not self._queued:
                        return
                    self._idle += 1
                    self._changed.wait()
                    self._idle -= 1
                    self._waking = max(0, self._waking - 1)
                key, future, task = found
                self._running[key] += 1
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(task())
                    except BaseException as exc:
                        future.set_exception(exc)
            finally:
                del task, future  # the result is the future's; nothing kept by this thread
                with self._changed:
                    self._running[key] -= 1
                    if not self._running[key]:
                        del self._running[key]
                    # this lane may run its next task now, while this thread takes the one
                    # next in turn: another waiting thread looks
                    if self._queued and self._idle > self._waking:
                        self._wake()

    def _wake(self) -> None:
        """One waiting thread to look for work. Called with the lock held."""
        self._waking += 1
        self._changed.notify()


class Lane:
    """One lane of a FairPool: what a member's (or a client's) code submits to."""

    def __init__(self, pool: FairPool, key: Hashable) -> None:
        self.pool, self.key = pool, key

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        return self.pool.submit(self.key, fn, *args, **kwargs)

    def offer(self, fn: Callable, /, *args, **kwargs) -> Future | None:
        return self.pool.offer(self.key, fn, *args, **kwargs)

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        return self.pool.map(self.key, fn, items)
