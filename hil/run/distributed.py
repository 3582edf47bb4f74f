"""``hil run --scheduler ADDRESS``: a suite's scenarios as tasks on a Dask cluster.

The pytest session stays where it is (collection, ordering, JUnit, allure, the table and
summary.html are the plugin's, exactly as with ``-n``); only each scenario item's run is
submitted to the cluster when the session has collected them (longest first, as ``-n``
orders them), and the item waits for its own task. A worker loads the scenario file again
(a scenario's compiled expectations do not travel), runs it with the runner ``hil run``
uses and sends back the result with its expectations as indices, which the item puts back
on its own scenario. SIL runs are bit-reproducible, so a result is the same on any worker.

A worker needs the project installed (the same version: ``pip install -e .`` of the same
checkout) and the scenario, rig and report paths under the same absolute paths (a shared
file system): it writes the traces and plots into the report directory itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

from hil.errors import HilError
from hil.run.runner import ScenarioResult, load, run_scenario

__all__ = ["Scheduler", "SchedulerError", "attach", "detach", "run_remote"]


class SchedulerError(HilError):
    """The scheduler cannot be reached or used (one line, exit 2)."""


def detach(result: ScenarioResult) -> ScenarioResult:
    """``result`` without its scenario, each verdict's expectation as its index in the
    scenario's ``expect`` (what crosses a process boundary)."""
    index = {id(e): i for i, e in enumerate(result.scenario.expect)}
    # In transit only: an int where the expectation was, no scenario (attach restores both).
    verdicts = [dataclasses.replace(v, expectation=cast(Any, index[id(v.expectation)]))
                for v in result.verdicts]
    return dataclasses.replace(result, scenario=cast(Any, None), verdicts=verdicts)


def attach(result: ScenarioResult, scenario: Any) -> ScenarioResult:
    """The inverse of :func:`detach`, on the collecting side's own ``scenario``."""
    verdicts = [dataclasses.replace(v, expectation=scenario.expect[cast(int, v.expectation)])
                for v in result.verdicts]
    return dataclasses.replace(result, scenario=scenario, verdicts=verdicts)


def run_remote(path: str, rig: str | None, report_dir: str, formats: tuple[str, ...],
               plots: bool) -> ScenarioResult:
    """One scenario on a worker (a Dask task): load, run, detach."""
    scenario = load(path, rig=rig)
    return detach(run_scenario(scenario, rig=rig, report_dir=Path(report_dir),
                               formats=formats, plots=plots))


class Scheduler:
    """A client of the Dask scheduler at ``address`` submitting scenario runs."""

    def __init__(self, address: str, *, timeout_s: float = 10.0) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - a declared dependency
            raise SchedulerError("--scheduler needs dask[distributed] (pip install "
                                 "'dask[distributed]')") from None
        try:
            self.client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"--scheduler {address}: cannot reach the scheduler: "
                                 f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                 ) from None
        self.address = address
        workers = self.client.scheduler_info().get("workers", {})
        self.workers = len(workers)

    def submit(self, name: str, path: str, rig: str | None, report_dir: str,
               formats: tuple[str, ...], plots: bool) -> Any:
        import uuid

        return self.client.submit(run_remote, path, rig, report_dir, formats, plots,
                                  key=f"hil-run-{name}-{uuid.uuid4().hex[:8]}", pure=False)

    def close(self) -> None:
        self.client.close()
