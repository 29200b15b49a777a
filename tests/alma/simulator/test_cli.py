"""`python -m alma.simulator` (what `nzbot simulator` runs) prints its URLs and serves."""

from __future__ import annotations

import subprocess
import sys

import requests

from alma.simulator import seed


def test_serve_prints_urls_and_answers():
    proc = subprocess.Popen(
        [sys.executable, "-m", "alma.simulator", "--port", "0", "--job-seconds", "0.1"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        urls = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in lines[1:4]}
        base, sru, key = urls["REST base URL"], urls["NZ SRU URL"], urls["API key"].split()[0]
        assert sru.startswith(base + "/view/sru/")
        r = requests.get(f"{base}/almaws/v1/bibs/{seed.CASES['unique']}",
                         headers={"Authorization": f"apikey {key}", "Accept": "application/json"},
                         timeout=10)
        assert r.status_code == 200 and r.json()["mms_id"] == seed.CASES["unique"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
