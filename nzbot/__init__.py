"""nzbot's workflow, Slack-free."""

from __future__ import annotations


def version() -> str:
    """The installed nzbot's version ("unknown" from a source tree never installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("nzbot")
    except PackageNotFoundError:
        return "unknown"
