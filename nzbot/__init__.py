"""nzbot's workflow, Slack-free."""

from __future__ import annotations

import functools


# Read once: the heartbeat names it every round, and reading it parses the installed
# package's metadata file (~1.5 ms); the version that runs is the one imported at start.
@functools.cache
def version() -> str:
    """The installed nzbot's version ("unknown" from a source tree never installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("nzbot")
    except PackageNotFoundError:
        return "unknown"
