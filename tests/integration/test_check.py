"""Offline judging: `hil check` of a SIL run's recording gives that run's verdicts.

The recording is the run's own BLF (and its ASC, candump log and MF4 bus logging): the
same frames a logger on the bus would hold. The udp-rig measurement (python -m can.logger
during a `hil run`, in a private network namespace) is in docs/bench.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import can
import pytest

from hil.cli import main as hil_main
from hil.run.check import check_trace
from hil.run.runner import load, run_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "safety" / "egt_overtemp.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sil")
    result = run_scenario(load(SCENARIO), report_dir=out,
                          formats=("blf", "asc", "log", "mf4"), plots=False)
    assert result.passed, result.failure_text()
    return result, out / "egt_overtemp"


def _statuses(result) -> list[tuple[str, bool]]:
    return [(v.expectation.kind, v.passed) for v in result.verdicts]


@pytest.mark.parametrize("fmt", ["blf", "asc", "log", "mf4"])
def test_check_of_a_recording_gives_the_runs_verdicts(run, fmt, tmp_path):
    live, rec = run
    offline = check_trace(rec / f"trace.{fmt}", SCENARIO, report_dir=tmp_path, plots=False)
    assert _statuses(offline) == _statuses(live)
    assert offline.status == live.status == "pass"
    for v in offline.verdicts:
        assert f"[timestamps: recorder timestamps of trace.{fmt}" in v.message
    saved = json.loads((tmp_path / "egt_overtemp" / "result.json").read_text())
    assert [v["passed"] for v in saved["verdicts"]] == [v.passed for v in live.verdicts]


def test_a_failing_expectation_fails_offline_as_it_did_live(run, tmp_path):
    """A scenario whose expectations the recording breaks: the same FAILs, at the same
    times, offline as in a live run of it."""
    _, rec = run
    strict = tmp_path / "strict.yaml"
    strict.write_text(SCENARIO.read_text().replace("within: 200 ms, after: \"ExhaustGasTemp > 1000\"",
                                                   "within: 5 ms, after: \"ExhaustGasTemp > 1000\"")
                      .replace("rig:", "# rig:"))
    live = run_scenario(load(strict), plots=False)
    offline = check_trace(rec / "trace.blf", strict, plots=False)
    assert not live.passed and not offline.passed
    assert _statuses(offline) == _statuses(live)
    lt = [v.t_ns for v in live.verdicts if not v.passed]
    ot = [v.t_ns for v in offline.verdicts if not v.passed]
    assert lt == ot


def test_last_segment_finds_the_scenario_after_a_preflight(run, tmp_path):
    """A logger that ran through a preflight (1.5 s of plant frames), a pause, then the
    scenario: --start last-segment judges the scenario, not the preflight."""
    _, rec = run
    frames = list(can.BLFReader(str(rec / "trace.blf")))
    pre = [can.Message(timestamp=m.timestamp, arbitration_id=m.arbitration_id,
                       data=m.data, is_extended_id=m.is_extended_id)
           for m in frames if m.timestamp < 1.5]
    for m in frames:
        m.timestamp += 3.0
    log = tmp_path / "logger.blf"
    with can.BLFWriter(str(log)) as writer:
        for m in pre + frames:
            writer.on_message_received(m)
    offline = check_trace(log, SCENARIO, start="last-segment", plots=False)
    assert offline.passed, offline.failure_text()
    assert offline.figures["check"]["start_offset_s"] == pytest.approx(3.0, abs=2e-3)
    shifted = check_trace(log, SCENARIO, start=3.0, plots=False)
    assert _statuses(shifted) == _statuses(offline)


def test_what_a_recording_cannot_show_is_inconclusive_not_passed(run, tmp_path):
    _, rec = run
    scn = tmp_path / "plant.yaml"
    scn.write_text(f"name: plant_quantity\ndescription: reads a plant quantity\n"
                   f"rig: {REPO / 'rigs' / 'sil.yaml'}\n"
                   "duration: 2 s\nexpect:\n"
                   "  - always: \"engine.speed_rpm < 20000\"\n"
                   "  - never: \"EngineMode == 'SHUTDOWN'\"\n")
    result = check_trace(rec / "trace.blf", scn, plots=False)
    plant, mode = result.verdicts
    assert getattr(plant, "inconclusive", False) and "not on the bus" in plant.reason
    assert "engine.speed_rpm" in plant.reason
    assert mode.passed
    assert result.status == "inconclusive"


def test_the_pytest_fixture_judges_a_recording(run, hil_check):
    _, rec = run
    result = hil_check(rec / "trace.blf", SCENARIO)
    assert result.passed, result.failure_text()


def test_cli_writes_the_run_report_files_and_exits_0(run, tmp_path, capsys):
    _, rec = run
    code = hil_main(["check", str(rec / "trace.mf4"), "--scenario", str(SCENARIO),
                     "--report", str(tmp_path), "--no-plots"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS: 8 of 8 expectations passed" in out
    assert (tmp_path / "summary.html").exists() and (tmp_path / "junit.xml").exists()
    assert (tmp_path / "egt_overtemp" / "result.json").exists()


@pytest.mark.parametrize("argv,needle", [
    (["--start", "soon"], "--start 'soon'"),
    (["--start", "-1"], "--start -1"),
])
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys, argv, needle):
    _, rec = run
    code = hil_main(["check", str(rec / "trace.blf"), "--scenario", str(SCENARIO),
                     "--report", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_a_missing_trace_is_one_line_and_exit_2(tmp_path, capsys):
    code = hil_main(["check", str(tmp_path / "nope.blf"), "--scenario", str(SCENARIO),
                     "--report", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "nope.blf" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()
