"""One round of the scheduler's work, step by step, and one round at a time (link jobs and
cases both use them)."""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable

from alma.errors import AlmaError
from nzbot.store import DatabaseLost


def run_round(log: logging.Logger, what: str, steps: Iterable[Callable[[], object]],
              on_alma_error: Callable[[str, AlmaError], None] | None = None) -> None:
    """Runs each step on its own, so one failing (Alma down, Slack down, a bug) never stops
    the others; the next round tries again. `on_alma_error` (nzbot.blocked) says a
    blockage once instead of every round."""
    for step in steps:
        try:
            step()
        except DatabaseLost:  # the rest of the round would fail the same way: said once, elsewhere
            raise
        except AlmaError as exc:  # Alma down or refusing: expected now and then, no traceback
            if on_alma_error is not None:
                on_alma_error(f"{what}: {step.__name__}", exc)
            else:
                log.warning("%s: %s: %s", what, step.__name__, exc)
        except Exception:  # Slack down, or a bug: logged with its traceback
            log.exception("%s: %s failed", what, step.__name__)


class OneAtATime:
    """Rounds of one kind run one at a time. Asked while one runs (a click, Alma's webhook,
    the scheduler), the running round goes once more when it ends: the asker's work is
    never left for the next tick, and no thread waits for another's round."""

    def __init__(self) -> None:
        self._running = threading.Lock()
        self._wanted = threading.Event()

    def run(self, round_: Callable[[], None]) -> None:
        self._wanted.set()
        while self._wanted.is_set():
            if not self._running.acquire(blocking=False):
                return  # the round running now sees _wanted and goes again
            try:
                while self._wanted.is_set():
                    self._wanted.clear()
                    round_()
            finally:
                self._running.release()
            # asked between the last check and the release: go again (or the asker does)
