"""The simulator as a consortium: several member IZs on one gateway sharing one NZ, each
answering to its own key with its own records, quota, job limits and call counts."""

from __future__ import annotations

import io
import subprocess
import sys

import requests

from alma.simulator import consortium, member_key, seed

from .conftest import printed_settings

KEY = "sim-key-consortium"


def get(sim, path: str, key: str, **params):
    return requests.get(f"{sim.base_url}/almaws/v1{path}", params=params, timeout=10,
                        headers={"Authorization": f"apikey {key}", "Accept": "application/json"})


def test_each_key_reads_its_own_iz_and_every_member_the_one_nz():
    with consortium(3, api_key=KEY, job_seconds=0.1) as sim:
        first, third = seed.CASES["unique"], seed.CASES["unique"][:-5] + "06393"
        assert get(sim, f"/bibs/{first}", KEY).json()["mms_id"] == first
        assert get(sim, f"/bibs/{third}", member_key(KEY, 3)).json()["mms_id"] == third
        assert get(sim, f"/bibs/{third}", KEY).status_code == 400  # not in the first IZ
        assert get(sim, f"/bibs/{first}", member_key(KEY, 3)).status_code == 400
        nz_id = seed.NZ_RECORDS["unique"]
        assert get(sim, f"/bibs/{nz_id}", sim.nz_api_key).json()["mms_id"] == nz_id
        zone = sim.zones[member_key(KEY, 3)]
        assert zone.state.nz is sim.state.nz and zone.state.institution_code == "01SIM_INST3"
        # counted by key: the third member's two; the first's two and the NZ key's one
        assert zone.calls["GET /almaws/v1/bibs/{mms_id}"] == 2 and sim.calls["GET /almaws/v1/bibs/{mms_id}"] == 3


def test_quota_and_job_limits_are_each_members_own():
    with consortium(2, api_key=KEY, job_seconds=0.1) as sim:
        second = sim.zones[member_key(KEY, 2)]
        second.state.quota_remaining = 0
        answer = get(sim, f"/bibs/{seed.CASES['unique'][:-5]}06392", member_key(KEY, 2))
        assert answer.status_code == 429 and "DAILY_THRESHOLD" in answer.text
        assert get(sim, f"/bibs/{seed.CASES['unique']}", KEY).status_code == 200
        assert sim.state.job_limits is not second.state.job_limits


def test_a_merge_in_the_nz_relinks_every_members_records():
    with consortium(2, api_key=KEY, job_seconds=0.1) as sim:
        second = sim.zones[member_key(KEY, 2)].state
        keep, drop = seed.NZ_RECORDS["multi_a"], seed.NZ_RECORDS["multi_b"]
        mine = seed.CASES["multi"][:-5] + "06392"
        sim.state.link(seed.CASES["multi"], drop)
        second.link(mine, drop)
        sim.merge_nz(keep, [drop])
        assert sim.state.linked_nz_id_of(seed.CASES["multi"]) == keep
        assert second.linked_nz_id_of(mine) == keep


def test_nzbot_simulator_institutions_prints_each_key():
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "simulator", "--port", "0", "--institutions", "3"],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            lines.append(proc.stdout.readline())
        exports, _ = printed_settings(io.StringIO("".join(lines)))
        base = exports["ALMA_API_URL"]
        keys = [exports[f"ALMA_API_KEY_{n}"] for n in (1, 2, 3)]
        assert len(set(keys)) == 3 and keys[0] == exports["ALMA_API_KEY"]
        assert [line.split("#")[1].split()[2] for line in lines if line.startswith("export ALMA_API_KEY_")] == [
            "01SIM_INST", "01SIM_INST2", "01SIM_INST3"]
        for number, key in enumerate(keys, start=1):
            mms_id = seed.CASES["unique"] if number == 1 else seed.CASES["unique"][:-5] + f"0639{number}"
            answer = requests.get(f"{base}/almaws/v1/bibs/{mms_id}", timeout=10,
                                  headers={"Authorization": f"apikey {key}", "Accept": "application/json"})
            assert answer.status_code == 200, (number, answer.text)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
