"""What the benchmarks share."""

from __future__ import annotations

import math
import socket


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[rank - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
