"""``hil run --scheduler ADDRESS``: the scenarios run as tasks on a Dask cluster (here a
real distributed.LocalCluster on loopback, workers as threads of the test process) with
the same reports as a run here: the same verdicts, trace hashes, JUnit cases and summary."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = [REPO / "scenarios" / "timing" / "fast_message_period.yaml",
             REPO / "scenarios" / "aero" / "brake_stability.yaml"]


def hil_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hil", "run", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=600)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for s in SCENARIOS:
        shutil.copy(s, folder / s.name)
    return folder


@pytest.fixture
def cluster():
    from hil.calibration.sweep import local_cluster

    c = local_cluster(2, processes=False)
    try:
        yield c
    finally:
        c.close()


def test_a_suite_on_a_dask_cluster_reports_as_a_run_here(suite, cluster, tmp_path):
    address = cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    here, there = tmp_path / "here", tmp_path / "there"
    local = hil_run(str(suite), "--report", str(here), "--trace", "blf", "--no-plots")
    remote = hil_run(str(suite), "--report", str(there), "--trace", "blf", "--no-plots",
                     "--scheduler", address)
    assert local.returncode == remote.returncode == 0, remote.stdout + remote.stderr
    assert f"scheduler {address}: 2 worker(s)" in remote.stderr

    def rows(report: Path) -> list[tuple]:
        return sorted((r["name"], r["status"], r["trace_sha256"],
                       tuple(v["status"] for v in r["verdicts"]))
                      for r in json.loads((report / "summary.json").read_text()))

    assert rows(here) == rows(there) and len(rows(there)) == 2
    cases = sorted(c.get("name") for c in ET.parse(there / "junit.xml").getroot().iter("testcase"))
    assert cases == ["brake_stability", "fast_message_period"]
    # the workers wrote the traces into the report directory
    for name in cases:
        assert (there / "scenarios" / name / "trace.blf").stat().st_size > 0


def test_scheduler_mistakes_are_one_line_and_exit_2(suite, tmp_path):
    both = hil_run(str(suite), "--scheduler", "tcp://127.0.0.1:9", "-n", "2",
                   "--report", str(tmp_path / "r"))
    assert both.returncode == 2 and "give one" in both.stderr
    assert len(both.stderr.strip().splitlines()) == 1
    wall = hil_run(str(suite), "--scheduler", "tcp://127.0.0.1:9", "--rig", "rigs/udp.yaml",
                   "--report", str(tmp_path / "r"))
    assert wall.returncode == 2 and "drop --scheduler" in wall.stderr
    # nothing listens on port 9 of loopback (discard): refused within the timeout
    gone = hil_run(str(suite), "--scheduler", "tcp://127.0.0.1:9", "--report",
                   str(tmp_path / "r"))
    assert gone.returncode == 2, gone.stderr
    err = gone.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot reach the scheduler" in err[0], gone.stderr
    assert "Traceback" not in gone.stderr
    assert not (tmp_path / "r" / "junit.xml").exists()
