"""The shape of the bot's modules: imports at the top of each module (none in the middle,
where a reader would not look), and the messages split by job, rendering never depending
on the builders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for package in ("bot", "nzbot") for p in (ROOT / package).rglob("*.py"))


def module_level_imports_after_code(path: Path) -> list[int]:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    seen_code, late = False, []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if seen_code:
                late.append(node.lineno)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # the docstring
            seen_code = True
    return late


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_imports_only_at_the_top(path: Path) -> None:
    assert module_level_imports_after_code(path) == [], f"{path.relative_to(ROOT)}: imports after code"


def test_rendering_and_wording_know_nothing_of_the_builders() -> None:
    for name in ("rendering", "wording"):
        tree = ast.parse((ROOT / "bot" / f"{name}.py").read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & {"bot.messages", "bot.case_messages"}, name
