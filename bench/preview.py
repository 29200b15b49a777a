"""Benchmark: what previewing a set costs in Alma calls, time and memory.

Runs `nzbot preview SET --json` (the real command, in a child process so its peak
memory is its own) against the Alma simulator with added latency per call, for sets of
1,000 and 100,000 generated records, next to a naive record-by-record script (one bib
call and one SRU search per record) run in this process on a sample of the same set.

    python bench/preview.py                 # 1,000 and 100,000 members, 150 ms a call
    python bench/preview.py --sizes 1000 --latency 0.15 --naive-sample 100

Prints calls per 1,000 records, records per second and peak RSS for each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from alma.client import AlmaClient
from alma.config import AlmaSettings
from alma.oclc import oclc_numbers
from alma.simulator import Simulator, seed

API_KEY = "bench-key"


def settings_env(sim: Simulator) -> dict[str, str]:
    return dict(os.environ, ALMA_API_KEY=API_KEY, ALMA_API_URL=sim.base_url,
                ALMA_NZ_SRU_URL=sim.sru_url)


# Runs the real command, then reports its own peak RSS (VmHWM). getrusage on the child
# would not do: a child forked from this process (which holds the simulator's catalogue)
# inherits this process's high-water mark.
CHILD = (
    "import sys\n"
    "from bot.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "sys.stderr.write(f'PEAK_KB {peak}\\n')\n"
    "sys.exit(code)\n"
)


def run_preview(sim: Simulator, set_id: str) -> dict:
    """The real command in a child process, which reports its own peak memory."""
    sim.reset_calls()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "preview", set_id, "--json"],
        env=settings_env(sim), capture_output=True, text=True, check=True,
    )
    elapsed = time.monotonic() - started
    peak_kb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    result = json.loads(done.stdout)
    return {
        "records": len(result["records"]),
        "calls": sim.total_calls,
        "seconds": elapsed,
        "peak_rss_mb": peak_kb / 1024,
        "counts": result["counts"],
    }


def run_naive(sim: Simulator, set_id: str, sample: int) -> dict:
    """Record by record, as a first script would: page the members, then for each one
    GET /bibs/{id} and one SRU search per OCLC number."""
    client = AlmaClient(AlmaSettings(api_key=API_KEY, api_url=sim.base_url, nz_sru_url=sim.sru_url))
    sim.reset_calls()
    started = time.monotonic()
    done = 0
    for member in client.set_members(set_id):
        bib = client.get_bib(member.id)
        if not bib.linked_nz_mms_id:
            for number in oclc_numbers(bib.record).active:
                list(client.sru_search(f"{client.settings.sru_oclc_index}=(OCoLC){number}"))
        done += 1
        if done >= sample:
            break
    elapsed = time.monotonic() - started
    return {"records": done, "calls": sim.total_calls, "seconds": elapsed, "peak_rss_mb": None}


def line(label: str, result: dict) -> str:
    per_1000 = result["calls"] * 1000 / max(result["records"], 1)
    rate = result["records"] / max(result["seconds"], 1e-9)
    rss = f"{result['peak_rss_mb']:.0f} MB" if result["peak_rss_mb"] else "-"
    return (f"{label:<34} {result['records']:>8,} records {result['calls']:>7,} calls "
            f"{per_1000:>8.1f} calls/1,000 {rate:>8.1f} records/s {result['seconds']:>8.1f} s  peak RSS {rss}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--latency", type=float, default=0.15, help="seconds added to each Alma call")
    parser.add_argument("--naive-sample", type=int, default=100,
                        help="records the naive script checks (it is slow: ~2 calls a record)")
    args = parser.parse_args()
    print(f"Alma simulator latency {args.latency * 1000:.0f} ms a call; client pace 20 calls/s "
          f"(Alma allows 25); SRU pages of 50.")
    for size in args.sizes:
        started = time.monotonic()
        state = seed.generate_state(size, seed=size)
        print(f"generated {size:,} records (and their NZ records) in {time.monotonic() - started:.1f} s", flush=True)
        with Simulator(state=state, api_key=API_KEY) as sim:
            sim.faults.latency = args.latency
            set_id = next(s.id for s in state.sets.values() if s.name == seed.GENERATED_SET_NAME)
            result = run_preview(sim, set_id)
            print(line(f"nzbot preview, {size:,} members", result), flush=True)
            print(f"{'':<34} verdicts: {result['counts']}", flush=True)
            if size == min(args.sizes) and args.naive_sample:
                naive = run_naive(sim, set_id, args.naive_sample)
                print(line(f"naive, first {naive['records']} of {size:,}", naive), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
