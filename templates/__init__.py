"""The Jinja2 templates of nzbot's messages (`*.json.j2`) and of the demo's transcript
(`transcript.html.j2`).

A package only so that the wheel ships them (package data `*.j2`, see pyproject.toml) and
so that they are found the same way installed or editable: through the import system,
never through a path relative to some other module's file.
"""

from __future__ import annotations

import jinja2


def loader() -> jinja2.BaseLoader:
    """Loads this package's templates, from a wheel's install or from the source tree."""
    return jinja2.PackageLoader(__name__, "")
