"""The bot's threads do not grow with the number of members (issue 24): `nzbot run`, as a
deployment runs it, serving 6 members and then 30, each running a link job on its own set
at once while catalogers' lookups arrive from every member's channel; the bot process's
peak thread count is read from /proc. Before the bounded pools, 30 members took 219 threads
and 6 took 59 (a pool of 4 per member, and 4 scheduler threads per member); now 48 and 37."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from alma.simulator import Simulator, member_key, seed
from bot.demo.slack_requests import post_signed, slash_command_body
from nzbot.store import Store
from tests.bot.subprocess_bot import CATALOGER, SECRET, SubprocessBot, make_stub, wait_until

KEY = "threads-test-key"
MOST_THREADS = 64  # the bound, whatever the number of members

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")


def channel_of(k: int) -> str:
    return f"CMEMBER{k:03d}"


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line in /proc")


def peak_threads(n: int, workdir: Path) -> int:
    """The peak thread count of `nzbot run` serving n members, each linking a set of 40
    records at once, with lookups from every member meanwhile."""
    states = [seed.generate_state(40, seed=0) for _ in range(n)]
    for k, state in enumerate(states, start=1):
        state.institution_code = f"01THREADS_{k:03d}"
    sim = Simulator(state=states[0], api_key=member_key(KEY, 1), job_seconds=1.0, seed=1)
    zones = [sim] + [sim.add_institution(state, member_key(KEY, k)) for k, state in enumerate(states[1:], 2)]
    for zone in zones:
        zone.faults.latency = 0.05  # calls in flight long enough to keep every pool busy
    sim.start()
    stub = make_stub()
    for k in range(1, n + 1):
        stub.add_channel(channel_of(k), name=f"member-{k}")
    workdir.mkdir()
    config = workdir / "nzbot.toml"
    config.write_text("\n".join(
        f'[[institution]]\ncode = "01THREADS_{k:03d}"\nname = "Member {k}"\n'
        f'api_key_env = "THREADS_KEY_{k}"\nchannels = ["{channel_of(k)}"]\n' for k in range(1, n + 1)))
    bot = SubprocessBot(sim, stub, workdir, extra_env={
        "NZBOT_CONFIG": str(config), "NZBOT_POLL_SECONDS": "0.2",
        **{f"THREADS_KEY_{k}": member_key(KEY, k) for k in range(1, n + 1)}})
    bot.env.pop("ALMA_API_KEY")
    bot.env.pop("NZBOT_REPORT_CHANNEL")
    peak, sampling = [0], threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            try:
                peak[0] = max(peak[0], threads_of(bot.proc.pid))
            except (OSError, AssertionError):
                pass
            time.sleep(0.02)

    def send(text: str, k: int) -> None:
        body = slash_command_body(text, user_id=CATALOGER, channel_id=channel_of(k),
                                  response_url=stub.response_url(f"r{k}-{time.monotonic_ns()}"))
        assert post_signed(bot.url, body, SECRET, timeout=10).status_code == 200

    try:
        bot.start()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        a_record = next(iter(states[0].iz))
        with ThreadPoolExecutor(max_workers=8) as senders:
            list(senders.map(lambda k: send(f"link {next(iter(states[k - 1].sets))}", k), range(1, n + 1)))
            list(senders.map(lambda k: send(f"match {a_record}", k), [k for k in range(1, n + 1)] * 2))
        store = Store(str(bot.db_path))
        try:
            wait_until(lambda: len(jobs := store.link_jobs()) == n
                       and all(j.state == "reported" and j.reconciled for j in jobs),
                       timeout=120, what=f"{n} members' link jobs reported and re-checked")
        finally:
            store.close()
        sampling.set()
        sampler.join()
        return peak[0]
    finally:
        sampling.set()
        bot.stop()
        stub.stop()
        sim.stop()


def test_the_bots_threads_do_not_grow_with_the_number_of_members(tmp_path):
    few = peak_threads(6, tmp_path / "six")
    many = peak_threads(30, tmp_path / "thirty")
    assert many <= MOST_THREADS, f"{many} threads serving 30 members"
    # 6 members fill the pools nearly as 30 do: more members only queue for them, in turn
    # (what remains is the few threads of each request in flight)
    assert many <= few + 16, f"{few} threads serving 6 members, {many} serving 30"
