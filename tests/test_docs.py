"""The code's citations of docs/alma.md point at sections that exist, and nothing cites a
document the repository doesn't have."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r'docs/alma\.md,\s*"([^"]+)"')
SOURCES = [p for folder in ("alma", "bot", "nzbot", "templates", "bench") for p in (ROOT / folder).rglob("*")
           if p.suffix in (".py", ".j2")]


def test_every_cited_section_of_docs_alma_exists():
    headings = [line[3:].strip() for line in (ROOT / "docs" / "alma.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("## ")]
    cited = {(path.relative_to(ROOT), name) for path in SOURCES
             for name in CITATION.findall(path.read_text(encoding="utf-8"))}
    assert cited, "no code cites docs/alma.md"
    missing = [(str(path), name) for path, name in cited if not any(h.startswith(name) for h in headings)]
    assert not missing, f"cited sections that docs/alma.md does not have: {missing}"


def test_no_file_cites_a_document_the_repository_lacks():
    files = SOURCES + [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "tests").rglob("*.py")]
    gone = "DOMAIN" + ".md"  # spelled apart so that this file does not name it
    assert [str(p.relative_to(ROOT)) for p in files if gone in p.read_text(encoding="utf-8")] == []
