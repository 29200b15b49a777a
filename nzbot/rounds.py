"""One round of the scheduler's work, step by step (link jobs and cases both use it)."""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from alma.errors import AlmaError


def run_round(log: logging.Logger, what: str, steps: Iterable[Callable[[], object]]) -> None:
    """Runs each step on its own, so one failing (Alma down, Slack down, a bug) never stops
    the others; the next round tries again."""
    for step in steps:
        try:
            step()
        except AlmaError as exc:  # Alma down or refusing: expected now and then, no traceback
            log.warning("%s: %s: %s", what, step.__name__, exc)
        except Exception:  # Slack down, or a bug: logged with its traceback
            log.exception("%s: %s failed", what, step.__name__)
