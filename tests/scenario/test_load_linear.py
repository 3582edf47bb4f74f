"""Issue 12 item 10: loading is linear in the file's size, checked by counting work, not
by timing it (the wall-clock figure, 1 MB well under a second, is benchmarks/bench_load.py's).

A generated scenario of n timed steps and n/4 conditions (the shape of bench_load's) is
loaded through ``hil.run.runner.load`` (YAML, schema, every condition compiled, the rig's
names) with every Python bytecode executed (``sys.settrace``, opcode events) and every
call of a C function (``sys.setprofile``) counted. For n, 2n and 3n steps both counts
must grow by the same amount each time (affine in n: work redone over all items so far
for each new item adds a term in n squared), and the work per step must stay within a
budget. Work inside one C call (a sort, a copy) is seen only as that call.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hil.config.rig import default_rig_path
from hil.run.runner import load, vocabulary_for

HEAD = """name: big
description: A large generated scenario, used to count the work of loading it.
duration: 60 s
steps:
"""
#: Work per timed step, with its share of conditions, when this test was written: 2,571
#: bytecodes and 74 C calls (2,909 and 87.5 before the loader's last speed-up). A change
#: that needs more raises the budget here and says why.
OPCODES_PER_STEP = 3000
C_CALLS_PER_STEP = 85


def _text(n: int) -> str:
    steps = [f"  - at: {i * 0.001:.3f} s\n    set: {{driver.throttle_pct: {i % 100}}}\n"
             for i in range(n)]
    expects = [f"  - never: 'EngineSpeed > {9000 + i} and Lambda < 0.7'\n"
               for i in range(0, n, 4)]
    return "".join([HEAD, *steps, "expect:\n", *expects])


def _work(path: Path) -> tuple[int, int]:
    """(Python bytecodes executed, calls of C functions) while ``path`` loads."""
    opcodes = c_calls = 0

    def local(frame, event, arg):
        nonlocal opcodes
        if event == "opcode":
            opcodes += 1
        return local

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        return local

    def profile(frame, event, arg):
        nonlocal c_calls
        if event == "c_call":
            c_calls += 1

    sys.settrace(trace)
    sys.setprofile(profile)
    try:
        load(path)
    finally:
        sys.setprofile(None)
        sys.settrace(None)
    return opcodes, c_calls


def test_loading_work_grows_linearly_with_the_file(tmp_path: Path) -> None:
    vocabulary_for(default_rig_path())  # the rig, DBC and plant are read once per process
    n = 300
    work = []
    for k in (1, 2, 3, 1):
        path = tmp_path / f"big_{k}.yaml"
        path.write_text(_text(k * n), encoding="utf-8")
        scenario = load(path)
        assert len(scenario.steps) == k * n and len(scenario.expect) == k * n // 4
        work.append(_work(path))
    assert work[3] == work[0]  # deterministic: nothing is cached from one load to the next
    for i, what in enumerate(("bytecodes", "C calls")):
        first, second, third = (w[i] for w in work[:3])
        # Affine in n: a term in n squared would make the second increment the larger.
        assert second - first == third - second, (what, first, second, third)
    opcodes, c_calls = (work[1][i] - work[0][i] for i in (0, 1))
    assert opcodes / n <= OPCODES_PER_STEP and c_calls / n <= C_CALLS_PER_STEP, \
        (opcodes / n, c_calls / n)
