"""The sweep's Dask worker plugin: each worker warms up before its first point.

A worker process starts cold: it imports the bench and, on its first task, loads the rig,
DBC, ECU configuration and calibration and compiles the codec. :class:`WarmUp` does that
on every worker when the cluster comes up (``hil sweep`` starts the cluster while it
checks the spec's points, so the two overlap), with one point of the sweep: the module
imports and the per-process caches (vocabulary, calibration) are then warm for the
points that follow. Best effort: a warm-up that fails only leaves the worker cold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class WarmUp(WorkerPlugin):
    name = "hil-sweep-warm-up"

    def __init__(self, task: Mapping[str, Any]) -> None:
        self.task = dict(task)

    def setup(self, worker: Any) -> None:
        from hil.calibration.sweep import warm_up

        try:
            warm_up(self.task)
        except Exception:  # noqa: BLE001 - the point itself reports any error when it runs
            pass
