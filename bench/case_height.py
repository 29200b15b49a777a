"""How tall the Program Manager's case messages are on screen: plays `nzbot demo` (its own
process), then has a headless Chromium lay the transcript out at 1,280 px wide and prints
the height of each case message as it stood when it was clicked. The target: a case of three
candidates fits one screen, about 900 px.

    python bench/case_height.py            # needs chromium (apt-get install chromium)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Measures each "as it stood when clicked" message once the page is laid out; the figures
# are written into the page, which --dump-dom prints.
MEASURE = """<script>
window.addEventListener('load', () => {
  const rows = [];
  document.querySelectorAll('details.as-clicked').forEach(d => {
    const text = d.innerText.replace(/\\s+/g, ' ');
    const iz = text.match(/Multi-match: IZ record (\\d+)/);
    const many = text.match(/Candidate \\d+ of (\\d+)/);
    if (iz) rows.push(iz[1] + ' ' + (many ? many[1] : '0') + ' ' + Math.round(d.getBoundingClientRect().height));
  });
  const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = rows.join('\\n');
  document.body.appendChild(pre);
});
</script>"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("case_height: no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        page = Path(work) / "demo.html"
        subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--out", str(page)], check=True,
                       stdout=subprocess.DEVNULL, cwd=work)
        measured = Path(work) / "measured.html"
        measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
        dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={args.width},900",
                              "--virtual-time-budget=5000", "--dump-dom", measured.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    rows = [line.split() for line in (found.group(1).strip().splitlines() if found else [])]
    print(f"case messages as clicked in the demo's transcript, {args.width} px wide:")
    for iz, candidates, height in rows:
        print(f"  IZ record {iz}: {candidates} candidates, {height} px")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
