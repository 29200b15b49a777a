"""Listeners stay thin (issue 12 item 3): they parse, call the workflow in nzbot/ and render;
of alma/ they may use only its errors, to say what went wrong."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.listeners

LISTENERS = Path(bot.listeners.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_listener_imports_alma_other_than_its_errors():
    modules = sorted(LISTENERS.rglob("*.py"))
    assert len(modules) >= 8  # every command and action listener is looked at
    reaching = {str(m.relative_to(LISTENERS)): sorted(n for n in imported_modules(m)
                                                     if n.split(".")[0] == "alma" and n != "alma.errors")
                for m in modules}
    assert {path: names for path, names in reaching.items() if names} == {}
