"""Scenario loading time against file size (issue 12: linear and bounded).

Writes scenarios of 0.25, 0.5 and 1 MB (timed steps and expectations, the shape of a long
generated test) and times ``hil.run.runner.load`` on each, the check ``hil run`` does before
anything runs: YAML, schema, every condition compiled, the rig's vocabulary warm. Linear
loading shows as a constant time per MB. Also times PyYAML's pure-Python ``SafeLoader`` on
the 1 MB file, the parser the loader used before (composed recursively, three times per
``hil run``). Wall-clock and process CPU time, best of 5: on a loaded machine the CPU time
is the steadier of the two (another process's share of the cores is not in it); compare
the figures of runs made side by side only. The work itself is counted, not timed, by
tests/scenario/test_load_linear.py (linear in the size, and a budget per step).

    .venv/bin/python benchmarks/bench_load.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from hil.config.rig import default_rig_path
from hil.run.runner import load, vocabulary_for

HEAD = """name: big
description: A large generated scenario, used to measure loading time.
duration: 60 s
steps:
"""


def scenario_text(target_bytes: int) -> str:
    parts = [HEAD]
    size = len(HEAD)
    steps: list[str] = []
    expects: list[str] = []
    i = 0
    while size < target_bytes:
        step = f"  - at: {i * 0.001:.3f} s\n    set: {{driver.throttle_pct: {i % 100}}}\n"
        expect = f"  - never: 'EngineSpeed > {9000 + i} and Lambda < 0.7'\n"
        steps.append(step)
        size += len(step)
        if i % 4 == 0:
            expects.append(expect)
            size += len(expect)
        i += 1
    return "".join(parts + steps + ["expect:\n"] + expects)


def main() -> None:
    vocabulary_for(default_rig_path())  # warm: the rig, DBC and plant are loaded once per run
    with tempfile.TemporaryDirectory() as tmp:
        for mb in (0.25, 0.5, 1.0):
            path = Path(tmp) / f"big_{mb}.yaml"
            path.write_text(scenario_text(int(mb * 1_000_000)))
            runs = [_timed(lambda p=path: load(p)) for _ in range(5)]
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
            size = path.stat().st_size / 1e6
            print(f"load {size:.2f} MB: {wall:.3f} s wall ({wall / size:.3f} s/MB), "
                  f"{cpu:.3f} s CPU ({cpu / size:.3f} s/MB)")
        text = path.read_text()
        t, _ = _timed(lambda: yaml.load(text, Loader=yaml.SafeLoader))
        print(f"PyYAML SafeLoader alone on {size:.2f} MB (the old parser, parse only): {t:.3f} s")


def _timed(fn) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


if __name__ == "__main__":
    main()
