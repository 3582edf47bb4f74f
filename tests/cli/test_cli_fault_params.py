"""A bad fault in a scenario, through `hil run` in a subprocess: exit 2, one line
`file:line:col: message`, no traceback, and nothing run (no report written)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

HEAD = """\
name: probe_fault
description: A scenario used to probe the fault parameter errors.
duration: 1 s
steps:
  - at: 100 ms
"""
TAIL = "expect:\n  - never: 'EngineSpeed > 15000'\n"

# One case per class; tests/scenario/test_fault_vocabulary.py has the rest in-process.
CASES = {
    # The parameter docs/scenarios.md once documented: not a parameter of the plant.
    "unknown_param": ("    fault: {part: injectors, mode: degraded, flow_pct: -10}\n",
                      r":6:46: unknown key 'flow_pct' in part fault injectors/degraded; it "
                      r"takes factor, ramp_s, duration"),
    "severity_out_of_range": ("    fault: {part: cooling, mode: degraded, factor: 3}\n",
                              r":6:52: factor must be 0\.\.2, got 3"),
    "bad_unit": ("    fault: {part: turbo, mode: efficiency_degraded, ramp_s: 2 kg}\n",
                 r":6:61: ramp_s: unknown time unit 'kg'"),
    "bus_time_without_unit": ("    fault: {bus: delay, message: PlantFast, by: 5}\n",
                              r":6:49: by: expected a time with a unit"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_fault_is_one_line_exit_2_before_running(case, tmp_path):
    step, pattern = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(HEAD + step + TAIL)
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "hil", "run", str(path), "--report",
                           str(reports)], capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1, lines[:5]
    assert f"{path}:" in lines[0] and re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (reports / "probe_fault").exists()
