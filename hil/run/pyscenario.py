"""Scenarios written in Python, with the building blocks of the YAML ones.

For what YAML cannot say (loops over operating points, a computed fault time, a
search), a pytest test takes the ``hil`` fixture and drives the SIL bench
itself; steps and expectations are written exactly as in YAML (dicts or
strings) and go through the same loader, the same step actions and the same
expectation engine, so their errors and failure messages read the same::

    def test_overboost_at_two_speeds(hil):
        for rpm in (4000, 5000):
            bench = hil.bench(mode="dyno", initial={"dyno.speed_rpm": rpm})
            hil.step(bench, {"set": {"driver.throttle_pct": 100},
                             "fault": {"part": "turbo.wastegate", "mode": "stuck_closed"}})
            bench.run_for(6.0)
            hil.expect(bench, {"latency": {"from": "BoostPressure > 250",
                                           "to": "FuelCut == 1 or SparkCut == 1",
                                           "max": "1 ms"}},
                       "never: BoostPressure > 270")
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from hil.bench.preflight import is_inconclusive
from hil.config.rig import RigConfig, load_rig
from hil.errors import HilError, ScenarioError
from hil.scenario.expect import Verdict, evaluate_all, verdict_summary
from hil.scenario.model import Scenario, loads_scenario


class ExpectationFailed(AssertionError):
    """One or more expectations of a Python scenario failed."""

    def __init__(self, verdicts: list[Verdict], plots: list[Path]) -> None:
        lines = [str(v) for v in verdicts if not v.passed]
        if plots:
            lines.append("plots: " + ", ".join(str(p) for p in plots))
        super().__init__("\n".join(lines))
        self.verdicts = verdicts


class PythonScenarios:
    """What the ``hil`` fixture gives a test: benches, steps, expectations."""

    def __init__(self, *, rig: str | Path | None = None, report_dir: Path | None = None,
                 name: str = "python_scenario", where: str | None = None) -> None:
        from hil.config.rig import resolve_rig_path

        self._rig_path = resolve_rig_path(rig)
        self.report_dir = report_dir
        # The name becomes a report file name and a scenario name: keep it to safe characters.
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "python_scenario"
        self._benches: list[Any] = []
        self._drivers: dict[int, Any] = {}
        self._where = where or "<python scenario>"
        #: Every verdict of every expect() call and the failure plots, for the suite's
        #: summary table, summary.html and summary.json (:meth:`summary`).
        self.verdicts: list[Verdict] = []
        self.artifacts: dict[str, str] = {}
        self._sim_ns = 0

    def bench(self, *, rig: str | Path | RigConfig | None = None, plant: str | None = None,
              calibration: str | None = None, params: Mapping[str, Any] | None = None,
              seed: int = 0, mode: str | None = None, initial: Mapping[str, float] | None = None,
              **mode_config: Any) -> Any:
        """A started bench (SIL on the default rig) with the plant set up as a YAML header
        would set it."""
        from hil.bench import open_bench
        from hil.scenario.player import prepare_plant

        rig_cfg = rig if isinstance(rig, RigConfig) else load_rig(rig or self._rig_path)
        bench = open_bench(rig_cfg, plant_params=plant, overrides=dict(params or {}),
                           calibration=calibration, seed=seed)
        doc: dict[str, Any] = {"name": self.name, "description": "a scenario written in Python",
                               "duration": "1 s", "expect": []}
        if mode:
            doc["mode"] = mode
            doc.update(mode_config)
        if initial:
            doc["initial"] = dict(initial)
        prepare_plant(bench.plant, self._load(doc, bench))
        self._benches.append(bench)
        # As run_scenario: the rig's preflight (on a wall rig also its ECU session) first.
        # Its timing bounds come later (expect()): none for the self-test to resolve now;
        # each timing verdict is qualified by the rig's pacing when it is evaluated.
        fitness = bench.preflight(0)
        if not fitness.passed:
            raise HilError("preflight failed:\n" + fitness.table(), file=self._where)
        bench.start()
        return bench

    def _load(self, doc: dict[str, Any], bench: Any) -> Scenario:
        from hil.run.runner import vocabulary_for

        vocab = vocabulary_for(bench.rig.path, None)
        text = yaml.safe_dump(doc, sort_keys=False)
        try:
            return loads_scenario(text, vocab, self._where)
        except ScenarioError as exc:
            raise ScenarioError(f"{exc.message} (in {doc})", file=self._where) from None

    def step(self, bench: Any, spec: Mapping[str, Any]) -> None:
        """Apply one YAML-style step now: set, ramp, fault, clear, approve, reject."""
        from hil.scenario.player import ScenarioPlayer

        now = bench.now_ns
        doc = {"name": self.name, "description": "a scenario written in Python",
               "duration": f"{now + 1} ns", "steps": [{"at": f"{now} ns", **dict(spec)}],
               "expect": []}
        scenario = self._load(doc, bench)
        driver = self._drivers.get(id(bench))
        if driver is None:
            driver = self._drivers[id(bench)] = ScenarioPlayer(bench, scenario)
        driver.apply(scenario.steps[0])
        bench.event("step", scenario.steps[0].describe())

    def expect(self, bench: Any, *expectations: Mapping[str, Any] | str) -> list[Verdict]:
        """Evaluate YAML-style expectations over what the bench recorded so far.

        A string ``"never: BoostPressure > 270"`` is short for ``{"never": "..."}``.
        Raises :class:`ExpectationFailed` (an AssertionError) naming every failure.
        """
        items: list[Any] = []
        for e in expectations:
            if isinstance(e, str):
                kind, _, rest = e.partition(":")
                items.append({kind.strip(): rest.strip()})
            else:
                items.append(dict(e))
        doc = {"name": self.name, "description": "a scenario written in Python",
               "duration": f"{max(bench.now_ns, 1)} ns", "expect": items}
        scenario = self._load(doc, bench)
        bench.trace.flush()
        verdicts = bench.qualify(evaluate_all(scenario.expect, bench.trace,
                                              task_times=bench.ecu.task_times()))
        # Where the expectation was written: the test's line calling expect(), not a line
        # of the YAML document built from it.
        caller = sys._getframe(1)
        where = (caller.f_code.co_filename, caller.f_lineno, 1)
        verdicts = [dataclasses.replace(v, where=where) for v in verdicts]
        self.verdicts.extend(verdicts)
        failed = [v for v in verdicts if not v.passed and not is_inconclusive(v)]
        if failed:
            plots = self._plots(bench, failed)
            for path in plots:
                self.artifacts[f"plot_failed_{len(self.artifacts)}"] = str(path)
            raise ExpectationFailed(verdicts, plots)
        if any(is_inconclusive(v) for v in verdicts):
            import pytest

            # Never a silent pass: the rig could not vouch for a verdict (docs/bench.md).
            pytest.skip("INCONCLUSIVE: " + "; ".join(str(v) for v in verdicts
                                                     if is_inconclusive(v)))
        return verdicts

    def _plots(self, bench: Any, failed: list[Verdict]) -> list[Path]:
        if self.report_dir is None:
            return []
        from hil.report.plot import plot_signals

        out = []
        for i, verdict in enumerate(failed):
            names = list(verdict.signals_involved)
            if not names:
                continue
            n = len(self.artifacts) + i
            out.append(plot_signals(bench.trace, names[:8],
                                    self.report_dir / f"{self.name}_failed_{n}.png",
                                    title=f"{self.name}: {verdict.expectation.kind} failed",
                                    mark_ns=verdict.t_ns, mark_label="violation"))
        return out

    def summary(self, *, description: str, line: int | None = None) -> dict[str, Any]:
        """This test's row of the suite summary, in ScenarioResult.summary's form. The
        outcome (passed, status, error, wall time) is the pytest report's, filled in where
        the reports are collected (HilResults); here it says what the verdicts say."""
        sim_ns = self._sim_ns + sum(int(b.now_ns) for b in self._benches)
        passed = all(v.passed for v in self.verdicts)
        return {"name": self.name, "file": self._where, "description": description,
                "tags": [], "passed": passed, "status": "pass" if passed else "fail",
                "error": None, "sim_s": sim_ns / 1e9, "wall_s": 0.0, "speed": None,
                "verdicts": [verdict_summary(v) for v in self.verdicts],
                "where": [self._where, line or 1, 1], "trace_sha256": None, "steps": [],
                "artifacts": dict(self.artifacts), "figures": {}, "python": True}

    def close(self) -> None:
        self._sim_ns += sum(int(b.now_ns) for b in self._benches)
        for bench in self._benches:
            bench.close()
        self._benches.clear()
