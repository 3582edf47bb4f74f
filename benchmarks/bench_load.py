"""Scenario loading time against file size (issue 12: linear and bounded).

Writes scenarios of 0.25, 0.5 and 1 MB (timed steps and expectations, the shape of a long
generated test) and times ``hil.run.runner.load`` on each, the check ``hil run`` does before
anything runs: YAML, schema, every condition compiled, the rig's vocabulary warm. Linear
loading shows as a constant time per MB. Also times PyYAML's pure-Python ``SafeLoader`` on
the 1 MB file, the parser the loader used before (composed recursively, three times per
``hil run``). Wall-clock: compare the figures of one run side by side only.

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
            best = min(_timed(lambda p=path: load(p)) for _ in range(3))
            size = path.stat().st_size / 1e6
            print(f"load {size:.2f} MB: {best:.3f} s ({best / size:.3f} s/MB)")
        text = path.read_text()
        t = _timed(lambda: yaml.load(text, Loader=yaml.SafeLoader))
        print(f"PyYAML SafeLoader alone on {size:.2f} MB (the old parser, parse only): {t:.3f} s")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
