"""The deployment files say what the project is: the Dockerfile copies every package the
wheel ships, keeps the database on its volume, and checks health with `nzbot status`; the
systemd unit and the compose file keep NZBOT_DB on a disk that outlives the process."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_dockerfile_builds_the_wheel_from_every_package_it_ships():
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    # setup.py's packages: alma, bot and nzbot found, and templates/ as bot.templates
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    found = set(re.findall(r'"(\w+)", "\1\.\*"', setup))
    copied = set(re.findall(r"^COPY (\w+) \1$", docker, re.M))
    assert found == {"alma", "bot", "nzbot"} and copied == found | {"templates"}, \
        "the Dockerfile must copy each folder the wheel ships"
    assert "COPY pyproject.toml setup.py README.md ./" in docker  # what `pip wheel .` reads
    assert "NZBOT_DB=/data/nzbot.db" in docker and 'VOLUME ["/data"]' in docker
    assert 'CMD ["nzbot", "status"]' in docker and 'CMD ["nzbot", "run"]' in docker
    assert re.search(r"^USER nzbot$", docker, re.M)  # not root


def test_the_unit_and_the_compose_file_keep_the_database_on_a_lasting_disk():
    unit = (ROOT / "deploy" / "nzbot.service").read_text(encoding="utf-8")
    assert "Environment=NZBOT_DB=/var/lib/nzbot/nzbot.db" in unit and "StateDirectory=nzbot" in unit
    assert "ExecStart=/opt/nzbot/bin/nzbot run" in unit
    compose = (ROOT / "deploy" / "compose.yml").read_text(encoding="utf-8")
    assert "NZBOT_DB: /data/nzbot.db" in compose and "nzbot-data:/data" in compose
