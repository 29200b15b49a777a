"""A local Alma for tests, benchmarks and demos: REST API, NZ SRU and a working link job.

    from alma.simulator import Simulator, seed
    with Simulator(state=seed.sample_state(), api_key="sim-key-local", job_seconds=1.0) as sim:
        requests.get(sim.base_url + "/almaws/v1/bibs/" + seed.CASES["unique"], ...)
"""

from __future__ import annotations

import argparse

from . import seed
from .server import Faults, MemberZone, Simulator, consortium, member_key, serve
from .state import State

__all__ = ["Faults", "MemberZone", "Simulator", "State", "consortium", "main", "member_key", "seed", "serve"]


def main(argv: list[str] | None = None) -> int:
    """`python -m alma.simulator [--port N]`: serve the sample catalogue until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="nzbot simulator", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8900, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--api-key", default="sim-key-local")
    parser.add_argument("--nz-api-key", default="sim-nz-key", help="the Network Zone's key")
    parser.add_argument("--job-seconds", type=float, default=5.0, help="how long a link job runs")
    parser.add_argument("--institutions", type=int, default=1, help="member IZs sharing the NZ, each with its own key")
    args = parser.parse_args(argv)
    return serve(args.port, api_key=args.api_key, job_seconds=args.job_seconds, nz_api_key=args.nz_api_key,
                 institutions=args.institutions)
