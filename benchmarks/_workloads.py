"""The two SIL workloads of issue 7, built exactly as ``hil run`` builds them.

* ``pull``: scenarios/vehicle/full_throttle_pull.yaml (road car, flat out 1 -> 4th gear);
* ``lap``: scenarios/vehicle/race_car_lap.yaml (race car, one lap in track mode).

Each is the scenario's rig, plant, calibration, seed, driver mode and initial state
(``hil.scenario.player.prepare_plant``), without the scenario's steps and expectations: the
figure is the closed loop itself (plant, controllers, codec, bus, clock, trace).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORKLOADS = {
    "pull": ROOT / "scenarios" / "vehicle" / "full_throttle_pull.yaml",
    "lap": ROOT / "scenarios" / "vehicle" / "race_car_lap.yaml",
}


def load_workload(name: str) -> Any:
    from hil.run.runner import load
    return load(WORKLOADS[name])


def build_bench(scenario: Any, *, trace: bool = True, spool_dir: Any = None) -> Any:
    """A SilBench set up for ``scenario`` (not started)."""
    from hil.bench.sil import SilBench
    from hil.config.rig import load_rig, resolve_rig_path
    from hil.scenario.player import prepare_plant

    rig = load_rig(resolve_rig_path(scenario.rig, scenario.file))
    bench = SilBench(rig, plant_params=scenario.plant, overrides=dict(scenario.params),
                     calibration=scenario.calibration, seed=scenario.seed, trace=trace,
                     spool_dir=spool_dir)
    prepare_plant(bench.plant, scenario)
    return bench


def replay_plant(bench: Any, rows: Any) -> None:
    """Replace the plant step by replaying recorded output rows (a plant that costs ~nothing)."""
    outputs = bench.plant.outputs
    it = iter(rows)
    update = outputs.update

    def replay(dt: float, inputs: Any = None) -> Any:
        update(next(it))
        return outputs

    bench.plant.step = replay


def seconds_per_simulated_second(bench: Any, seconds: float) -> float:
    """Wall seconds per simulated second of ``bench.run_for(seconds)`` (gc collected first)."""
    import gc
    import time

    gc.collect()
    t0 = time.perf_counter()
    bench.run_for(seconds)
    wall = time.perf_counter() - t0
    bench.close()
    return wall / seconds


def pin_one_core() -> str:
    """Run on one core (issue 7: 'on one core'); returns what was done."""
    try:
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    except (AttributeError, OSError) as exc:  # pragma: no cover - not Linux
        return f"not pinned ({exc})"


def machine_line() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"# {platform.node()} {platform.python_implementation()} "
            f"{platform.python_version()}, nproc {os.cpu_count()}, "
            f"load average {load[0]:.2f}")


def git_rev() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


PACKAGES = ("numpy", "scipy", "simpy", "python-can", "cantools", "asammdf", "PyYAML",
            "matplotlib", "pytest", "pytest-xdist")


def machine_info() -> str:
    """nproc, CPU model, kernel, Python and the versions of the packages that matter."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} -")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return "\n".join([
        f"nproc {os.cpu_count()}, CPU {cpu}, kernel {platform.release()}, "
        f"{platform.python_implementation()} {platform.python_version()}",
        ", ".join(versions),
        f"commit {git_rev()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ])
