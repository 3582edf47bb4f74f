"""Issue 12 item 4: ``hil run`` stopped by SIGINT, SIGTERM or SIGKILL, and two runs on one
report directory, in subprocesses.

The scenario is the race car lap stretched to 10 minutes of simulated time, so its trace
is spooled (runs over 2 minutes are) and the run is observable from outside: the signal is
sent once the spool's frame file has data, i.e. the simulation is running and has
recorded frames. No fixed sleeps and no wall-clock assertions: every wait polls for an
event with a generous bound, and what is asserted is the files and exit codes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import can
import pytest
from asammdf import MDF

REPO = Path(__file__).resolve().parents[2]
LAP = REPO / "scenarios" / "vehicle" / "race_car_lap.yaml"
NAME = "race_car_lap"
WAIT_S = 600  # bound of every wait: a loaded machine is slow, never wrong

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def long_lap(tmp_path: Path) -> Path:
    text, n = re.subn(r"^duration:.*$", "duration: 600 s", LAP.read_text(encoding="utf-8"),
                      flags=re.M)
    assert n == 1
    path = tmp_path / "race_car_lap_long.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_sigint() -> None:
    # A parent started as a background job of a shell script ignores SIGINT, and an
    # ignored signal stays ignored across exec; hil run (rightly) keeps it so. The test
    # wants the interactive case: Ctrl-C does something.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(scenario: Path, report: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "hil", "run", str(scenario), "--report", str(report), *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint, start_new_session=True)


def _wait_recording(proc: subprocess.Popen[str], report: Path) -> None:
    """Until the run's spool holds frames (the simulation runs and records)."""
    spool = report / "scenarios" / NAME / "trace.partial.spool"
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        frames = list(spool.glob("frames.t_end_ns.bin*"))
        if frames and frames[0].stat().st_size > 0:
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the run recorded no frame within {WAIT_S} s")


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, out, err


def _assert_kept(report: Path, signame: str) -> None:
    """What an interrupted run must leave: the trace so far in every default format,
    readable by python-can and asammdf; result.json marked interrupted with the time
    reached; the interrupted scenario in JUnit and the summary; no spool, no partial."""
    d = report / "scenarios" / NAME
    result = json.loads((d / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "interrupted" and result["interrupted"] == signame
    assert result["passed"] is False and result["verdicts"] == []
    assert 0 < result["sim_s"] < 600 == result["duration_s"]
    assert f"interrupted by {signame} at t=" in result["error"]
    frames = sum(1 for _ in can.BLFReader(str(d / "trace.blf")))
    assert frames > 0
    with can.MF4Reader(str(d / "trace.mf4")) as reader:
        assert sum(1 for _ in reader) == frames
    mdf = MDF(str(d / "trace.mf4"))
    try:
        speed = mdf.get("EngineSpeed")
        assert len(speed.samples) > 0
        assert speed.timestamps[-1] <= result["sim_s"] + 1e-9
    finally:
        mdf.close()
    cases = ET.parse(report / "junit.xml").getroot().iter("testcase")
    [case] = [c for c in cases if c.get("name") == NAME]
    failure = case.find("failure")
    assert failure is not None
    assert f"interrupted by {signame}" in failure.get("message", "") + (failure.text or "")
    [row] = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert row["name"] == NAME and row["status"] == "interrupted"
    assert (report / "summary.html").is_file()
    leftovers = [p for p in report.rglob("*") if ".partial" in p.name or p.suffix == ".bin"]
    assert leftovers == []


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_keeps_what_was_recorded(long_lap: Path, tmp_path: Path, sig: int,
                                        code: int) -> None:
    report = tmp_path / "reports"
    proc = _start(long_lap, report)
    _wait_recording(proc, report)
    proc.send_signal(sig)
    rc, out, err = _finish(proc)
    assert rc == code, err[-3000:]
    assert "Traceback" not in err
    assert f"interrupted by {signal.Signals(sig).name}" in err
    _assert_kept(report, signal.Signals(sig).name)


def test_sigkill_leaves_no_final_name_and_the_next_run_cleans(long_lap: Path,
                                                               tmp_path: Path) -> None:
    report = tmp_path / "reports"
    proc = _start(long_lap, report)
    _wait_recording(proc, report)
    proc.kill()
    _finish(proc)
    d = report / "scenarios" / NAME
    # Nothing under a final name: no trace, no result, no JUnit, no summary ...
    for name in ("trace.blf", "trace.mf4", "result.json", "overview.png", "coverage.json"):
        assert not (d / name).exists(), name
    for name in ("junit.xml", "summary.html", "summary.json"):
        assert not (report / name).exists(), name
    # ... and what is left is named partial (the spool, being written)
    left = [p for p in report.rglob("*") if p.is_file() and p.name != ".hil-run.lock"]
    assert left and all(".partial" in str(p.relative_to(report)) for p in left), left
    # The next run in that directory removes it, says so, and leaves only its own files.
    short = REPO / "scenarios" / "timing" / "fast_message_period.yaml"
    rc, _, err = _finish(_start(short, report, "--no-plots"))
    assert rc in (0, 1), err[-3000:]
    assert re.search(r"removed the previous run's outputs from .*scenarios/", err), err
    assert not d.exists()
    assert [p for p in report.rglob("*") if ".partial" in p.name] == []
    [row] = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert row["name"] == "fast_message_period"


def test_second_run_on_the_same_report_dir_refuses(long_lap: Path, tmp_path: Path) -> None:
    report = tmp_path / "reports"
    first = _start(long_lap, report)
    _wait_recording(first, report)
    try:
        second = _start(LAP, report)
        rc, out, err = _finish(second)
        lines = err.strip().splitlines()
        assert rc == 2, err[-3000:]
        assert len(lines) == 1 and "in use by another hil run" in lines[0], lines
        assert f"pid {first.pid}" in lines[0]
        assert first.poll() is None   # the first run goes on, its files untouched
        assert (report / "scenarios" / NAME / "trace.partial.spool").is_dir()
    finally:
        first.send_signal(signal.SIGINT)
        rc, _, err = _finish(first)
    assert rc == 130, err[-3000:]
    _assert_kept(report, "SIGINT")


@pytest.fixture
def two_long_laps(tmp_path: Path) -> Path:
    """Two 10-minute laps (distinct names) in a directory ``hil run -n 2`` collects."""
    suite = tmp_path / "scenarios"
    suite.mkdir()
    for name in ("lap_a", "lap_b"):
        text = LAP.read_text(encoding="utf-8")
        text, n = re.subn(r"^duration:.*$", "duration: 600 s", text, flags=re.M)
        text, m = re.subn(r"^name:.*$", f"name: {name}", text, flags=re.M)
        assert n == m == 1
        (suite / f"{name}.yaml").write_text(text, encoding="utf-8")
    return suite


@pytest.mark.parametrize("sig, group, code", [(signal.SIGINT, False, 130),
                                              (signal.SIGTERM, True, 143)],
                         ids=["SIGINT-to-the-controller", "SIGTERM-to-every-process"])
def test_signal_with_xdist_workers_keeps_each_interrupted_scenario(
        two_long_laps: Path, tmp_path: Path, sig: int, group: bool, code: int) -> None:
    """``hil run -n 2``: the scenarios run in worker processes. A signal to the controller
    alone (kill PID) is relayed to the workers; a signal to the whole process group (Ctrl-C
    in a terminal) reaches the workers directly and through the relay, and must not count
    twice (a second signal aborts). Either way each running scenario stops at its next
    boundary and leaves its trace, result.json, JUnit entry and summary row."""
    report = tmp_path / "reports"
    proc = _start(two_long_laps, report, "-n", "2", "--no-plots")
    spools = [report / "scenarios" / name / "trace.partial.spool" for name in ("lap_a", "lap_b")]
    deadline = time.monotonic() + WAIT_S
    while not all(any(f.stat().st_size > 0 for f in s.glob("frames.t_end_ns.bin*"))
                  for s in spools):
        assert proc.poll() is None, proc.communicate()
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the runs recorded no frame within {WAIT_S} s")
        time.sleep(0.2)
    if group:
        os.killpg(proc.pid, sig)   # start_new_session: the group is hil run and its workers
    else:
        proc.send_signal(sig)
    rc, out, err = _finish(proc)
    name = signal.Signals(sig).name
    assert rc == code, err[-3000:]
    assert "Traceback" not in err + out
    cases = {c.get("name"): c for c in ET.parse(report / "junit.xml").getroot().iter("testcase")}
    rows = {r["name"]: r for r in json.loads((report / "summary.json").read_text("utf-8"))}
    assert set(cases) == set(rows) == {"lap_a", "lap_b"}
    for lap in ("lap_a", "lap_b"):
        d = report / "scenarios" / lap
        result = json.loads((d / "result.json").read_text(encoding="utf-8"))
        assert result["status"] == "interrupted" and result["interrupted"] == name
        assert 0 < result["sim_s"] < 600
        assert sum(1 for _ in can.BLFReader(str(d / "trace.blf"))) > 0
        with can.MF4Reader(str(d / "trace.mf4")) as reader:
            assert next(iter(reader), None) is not None
        failure = cases[lap].find("failure")
        assert failure is not None and f"interrupted by {name}" in failure.get("message", "")
        assert rows[lap]["status"] == "interrupted"
    assert (report / "summary.html").is_file()
    assert [p for p in report.rglob("*") if ".partial" in p.name or p.suffix == ".bin"] == []
