"""Background work that Alma blocks: said once, not every round.

A key lacking a permission, or the daily quota spent, fails every scheduler round the same
way until a person acts or Alma's day turns. Each such blockage (alma.errors.AlmaBlocked)
is logged and told to the report channel once; it is forgotten, so that it would be told
again, once Alma has accepted a call it blocked (alma.http.AlmaHttp.accepted). Every other
Alma error is logged each time, as before: the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from alma.client import AlmaClient
from alma.errors import AlmaBlocked, AlmaError

log = logging.getLogger(__name__)


class BlockedNotifier(Protocol):
    def alma_blocked(self, text: str) -> None:
        """Tells the report channel why background work waits (once per blockage)."""


class BlockedWork:
    def __init__(self, alma: AlmaClient, notifier: object) -> None:
        self.alma = alma
        self.notifier = notifier
        self._said: dict[str, float] = {}  # blockage -> when it was said (monotonic)
        self._lock = threading.Lock()

    def failed(self, where: str, exc: AlmaError) -> None:
        """What a background step does with an Alma error that ended it."""
        if not isinstance(exc, AlmaBlocked):
            log.warning("%s: %s", where, exc)
            return
        self.forget_cleared()
        with self._lock:
            new = exc.blockage not in self._said
            if new:
                self._said[exc.blockage] = time.monotonic()
        if not new:
            log.debug("%s: still blocked: %s", where, exc)
            return
        log.warning("%s: %s Background work waits and tries again on its own; this is said "
                    "once.", where, exc)
        tell = getattr(self.notifier, "alma_blocked", None)
        if tell is None:
            return
        try:
            tell(exc.message)  # the words for people; the log above has Alma's too
        except Exception:  # Slack down: the log has it
            log.exception("could not tell the report channel: %s", exc)

    def forget_cleared(self) -> None:
        """Blockages Alma has let through since they were said are over."""
        accepted = self.alma.http.accepted
        with self._lock:
            over = [b for b, said in self._said.items() if accepted.get(b, 0.0) > said]
            for blockage in over:
                del self._said[blockage]
        for blockage in over:
            log.info("Alma accepts calls again (%s): background work goes on.", blockage)

    @property
    def blocked(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._said)
