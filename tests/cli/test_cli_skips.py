"""Scenarios that need the simulated bus are SKIPPED on a wall-clock rig, at collection and
with the reason, before any bench or preflight: in the terminal table, summary.html, JUnit
(and allure, which reads pytest's skip) -- never failed or broken."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUS_FAULTS = [REPO / "scenarios" / "safety" / f"{name}.yaml"
              for name in ("crc_error_limp", "message_loss_limp")]


def test_bus_fault_scenarios_are_skipped_on_a_wall_rig(tmp_path):
    # No ECU runs and the udp bus is never opened: a skip at collection needs neither.
    proc = subprocess.run(
        [sys.executable, "-m", "hil", "run", *map(str, BUS_FAULTS), "--rig", "rigs/udp.yaml",
         "--report", str(tmp_path), "--trace", "none", "--no-plots"],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "preflight" not in out
    for name in ("crc_error_limp", "message_loss_limp"):
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert "SKIPPED" in row, row
        assert f"skipped {name}: needs the simulated bus" in out
    assert "2 SKIPPED (need another rig)" in out

    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    skips = {c.get("name"): c.find("skipped") for c in cases}
    assert set(skips) == {"crc_error_limp", "message_loss_limp"}
    assert all(s is not None and "needs the simulated bus" in s.get("message", "")
               for s in skips.values())
    html = (tmp_path / "summary.html").read_text()
    assert html.count("<td class='skipped'>SKIPPED</td>") == 2   # the table's rows
    assert "skipped: needs the simulated bus (bus fault corrupt)" in html


def test_bus_fault_scenarios_run_on_the_simulated_bus(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "hil", "run", str(BUS_FAULTS[0]), "--report", str(tmp_path),
         "--trace", "none", "--no-plots"],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SKIPPED" not in proc.stdout
