"""The layers (docs/architecture.md, "The layers"): each package imports only those below it,
alma <- nzbot <- bot, with the entry points (bot/cli.py, bot/demo/) at the top of bot/.
Every import counts, a function's own as much as a module's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name `path` imports, at any depth (relative imports stay in
    their own package), and any named by a constant in importlib.import_module or __import__."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"))
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            names.add(node.args[0].value)
    return names


def reaching(package: str, forbidden: set[str]) -> dict[str, list[str]]:
    """The modules of `package` that import one of the `forbidden` packages, and what they import."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = sorted(n for n in imported_modules(path) if n.split(".")[0] in forbidden)
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package, above", [("alma", {"nzbot", "bot"}), ("nzbot", {"bot"})])
def test_no_package_imports_one_above_it(package, above):
    assert len(list((ROOT / package).rglob("*.py"))) >= 10  # the package is really looked at
    assert reaching(package, above) == {}


def test_the_entry_points_are_in_bot_and_no_module_of_the_running_bot_imports_them():
    assert (ROOT / "bot" / "cli.py").is_file() and (ROOT / "bot" / "demo" / "__init__.py").is_file()
    assert not (ROOT / "nzbot" / "cli.py").exists() and not (ROOT / "nzbot" / "demo").exists()
    # A function's own import is read: `nzbot run` and `nzbot demo` start the bot from inside run_bot and run_demo.
    assert {"bot.app", "bot.demo"} <= imported_modules(ROOT / "bot" / "cli.py")
    running_bot = [p for p in sorted((ROOT / "bot").rglob("*.py"))
                   if p != ROOT / "bot" / "cli.py" and (ROOT / "bot" / "demo") not in p.parents]
    assert len(running_bot) >= 20
    entry_points = ("bot.cli", "bot.demo")
    importing = {str(p.relative_to(ROOT)): sorted(n for n in imported_modules(p)
                                                  if n in entry_points or n.startswith(tuple(f"{e}." for e in entry_points)))
                 for p in running_bot}
    assert {path: names for path, names in importing.items() if names} == {}
