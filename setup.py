"""What the wheel holds (the rest is pyproject.toml). The repository keeps the message
templates in templates/ (the layout is set), and the wheel ships them as nzbot's own
`bot.templates`: a top-level package named `templates` would clash with another
project's of that name in the same environment."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["alma", "alma.*", "bot", "bot.*", "nzbot", "nzbot.*"]), "bot.templates"],
    package_dir={"bot.templates": "templates"},
    package_data={"bot.templates": ["*.j2"]},
)
