"""Listeners stay thin (issue 12 item 3): they parse, call the workflow in nzbot/ and render;
of alma/ they may use only its errors, to say what went wrong."""

from __future__ import annotations

from pathlib import Path

import bot.listeners
from tests.test_layout import imported_modules

LISTENERS = Path(bot.listeners.__file__).parent


def test_no_listener_imports_alma_other_than_its_errors():
    modules = sorted(LISTENERS.rglob("*.py"))
    assert len(modules) >= 8  # every command and action listener is looked at
    reaching = {str(m.relative_to(LISTENERS)): sorted(n for n in imported_modules(m) if n.split(".")[0] == "alma"
                                                     and n != "alma.errors" and not n.startswith("alma.errors."))
                for m in modules}
    assert {path: names for path, names in reaching.items() if names} == {}
