"""alma.calls.FairPool: the bounded pool every member's work shares (issue 24), each member
(or Alma client) a lane, taken in turn."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import pytest

from alma.calls import CallTally, FairPool, count_call


def test_threads_stay_at_the_bound_however_many_lanes():
    pool = FairPool(threads=4, per_lane=2, name="t")
    release = threading.Event()
    futures = [pool.submit(f"member {k}", release.wait, 5) for k in range(40)]
    time.sleep(0.2)
    assert pool.started == 4
    release.set()
    assert all(f.result(timeout=5) for f in futures)
    assert pool.started == 4
    pool.shutdown()


def test_a_long_queue_on_one_lane_never_holds_another_lanes_work_up():
    pool = FairPool(threads=2, per_lane=2, name="t")
    order: list[str] = []

    def work(name: str) -> None:
        time.sleep(0.05)
        order.append(name)

    for k in range(20):  # one member's long queue: a second of work on both threads
        pool.submit("big", work, f"big {k}")
    time.sleep(0.01)
    started = time.monotonic()
    pool.submit("small", work, "small").result(timeout=5)
    # the other member's one task is taken at the next turn, not after the 20
    assert time.monotonic() - started < 0.3
    assert order.index("small") <= 3
    pool.shutdown()


def test_a_lane_never_runs_more_than_its_share_at_once():
    pool = FairPool(threads=6, per_lane=2, name="t")
    running, most, lock = [0], [0], threading.Lock()

    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    for f in [pool.submit("hung member", work) for _ in range(12)]:
        f.result(timeout=5)
    assert most[0] == 2
    pool.shutdown()


def test_results_errors_and_order_of_map():
    pool = FairPool(threads=3, per_lane=3, name="t")
    assert list(pool.lane("a").map(lambda x: x * x, range(10))) == [x * x for x in range(10)]
    failing = pool.submit("a", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)
    pool.shutdown()


def test_tasks_count_their_calls_on_the_submitters_tally():
    pool = FairPool(threads=2, per_lane=2, name="t")
    tally = CallTally()
    with tally.counting():
        futures = [pool.submit("a", count_call, "GET /bibs") for _ in range(5)]
    for f in futures:
        f.result(timeout=5)
    pool.submit("a", count_call, "GET /bibs").result(timeout=5)  # outside: not counted
    assert tally.by_endpoint == {"GET /bibs": 5}
    pool.shutdown()


def test_offer_takes_work_only_when_a_thread_is_free():
    pool = FairPool(threads=1, per_lane=1, name="t")
    release = threading.Event()
    first = pool.offer("a", release.wait, 5)
    assert first is not None
    time.sleep(0.05)
    assert pool.offer("b", lambda: "b") is None  # the one thread is busy: the caller reads itself
    release.set()
    assert first.result(timeout=5)
    time.sleep(0.05)
    assert pool.offer("b", lambda: "b").result(timeout=5) == "b"
    pool.shutdown()


def test_shutdown_cancels_queued_work_and_refuses_more():
    pool = FairPool(threads=1, per_lane=1, name="t")
    release = threading.Event()
    running = pool.submit("a", release.wait, 5)
    queued = pool.submit("b", lambda: "never")
    time.sleep(0.05)
    pool.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(CancelledError):
        queued.result(timeout=1)
    with pytest.raises(RuntimeError):
        pool.submit("a", lambda: None)
    release.set()
    assert running.result(timeout=5)
    assert pool.join(5)


def test_work_submitted_together_starts_together_while_threads_remain():
    """A thread already told to wake is not counted twice: the second of two tasks given at
    once to a pool with one waiting thread starts a thread of its own, not after the first."""
    pool = FairPool(threads=2, per_lane=2, name="t")
    pool.submit("a", lambda: None).result(timeout=5)
    time.sleep(0.05)  # the one thread waits for work
    both = threading.Barrier(2, timeout=2)
    futures = [pool.submit("a", both.wait) for _ in range(2)]
    for f in futures:
        f.result(timeout=5)  # a BrokenBarrierError had one task waited for the other's end
    assert pool.started == 2
    pool.shutdown()
