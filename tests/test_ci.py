"""CI runs what the README says, and the wheel carries the templates (`.ci/run` proves the
latter for real by installing the wheel outside the tree and playing `nzbot demo`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jinja2

from bot import templates

ROOT = Path(__file__).resolve().parent.parent


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = readme.index("Install what the tests need and run them")
    block = re.search(r"```sh\n(.+?)\n```", readme[intro:], re.DOTALL)
    assert block, "the README's test command is not in a sh block after its introduction"
    return block.group(1).strip()


def test_ci_runs_the_readme_test_command_word_for_word():
    command = readme_test_command()
    assert "pytest" in command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert any(line.startswith(command + " ") or line == command for line in ci_lines), (
        f".ci/run does not run the README's test command: {command}")


def test_the_wheel_ships_every_template_as_bot_templates():
    # setup.py: the repository's templates/ folder is the package `bot.templates` in the
    # wheel (no top-level `templates`, a name other projects use)
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert '"bot.templates"]' in setup and 'package_dir={"bot.templates": "templates"}' in setup
    assert 'package_data={"bot.templates": ["*.j2"]}' in setup
    assert "packages" not in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"].get(
        "setuptools", {})  # one place says what the wheel holds
    assert templates.__name__ == "bot.templates" and Path(templates.__file__).parent == ROOT / "templates"
    on_disk = sorted(p.name for p in (ROOT / "templates").iterdir() if p.suffix == ".j2")
    assert on_disk and all(name.endswith(".j2") for name in on_disk)
    # ...and the loader the bot and the demo use finds each of them through the package.
    env = jinja2.Environment(loader=templates.loader())
    assert sorted(t for t in env.list_templates() if t.endswith(".j2")) == on_disk
    for name in on_disk:
        source, _, _ = env.loader.get_source(env, name)
        assert source == (ROOT / "templates" / name).read_text(encoding="utf-8")
