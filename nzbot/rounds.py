"""One round of the scheduler's work, step by step (link jobs and cases both use it)."""

from __future__ import annotations

import logging
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
