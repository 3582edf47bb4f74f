"""Fuzz of the scenario loader and the expression parser (issue 12, tests/fuzzing.py).

Mutated shipped scenarios, checked against the real rig's vocabulary (DBC, plant, ECU
tasks, calibration sets), and random condition texts: a :class:`Scenario` / :class:`Expr`
or a :class:`HilError` with file and line, never another exception.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from fuzzing import FUZZ, TOKENS, assert_located, mutated, mutated_bytes
from hypothesis import given
from hypothesis import strategies as st

from hil.config.rig import default_rig_path
from hil.errors import HilError
from hil.run.runner import vocabulary_for
from hil.scenario.expr import compile_expr
from hil.scenario.model import Scenario, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text() for p in sorted((ROOT / "scenarios").rglob("*.yaml"))]
VOCAB = vocabulary_for(default_rig_path())


@FUZZ
@given(text=mutated(SEEDS))
def test_fuzz_scenario_text(text):
    try:
        scenario = loads_scenario(text, VOCAB, "fuzz.yaml")
    except HilError as exc:
        assert_located(exc, "fuzz.yaml")
    else:
        assert isinstance(scenario, Scenario)


@FUZZ
@given(data=mutated_bytes(SEEDS))
def test_fuzz_scenario_file_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            load_scenario(path, VOCAB)
        except HilError as exc:
            assert_located(exc, str(path))


CONDITION_SEEDS = [
    "EngineSpeed > 6000 and BoostPressure < 250",
    "abs(Lambda - 1) < 0.02 or not FuelCut",
    "EngineMode == 'LIMP' and sensor.lambda > 1.1",
    "min(EngineSpeed, 7000) - max(Gear, 2) * 3 / 4 >= -1e3",
    "EcuFast.FuelCut == 1 and engine.speed_rpm > 0.5e3",
]
NAMES = sorted(VOCAB.signals) + ["sensor.lambda", "engine.speed_rpm"]


@FUZZ
@given(text=mutated(CONDITION_SEEDS) | st.lists(st.sampled_from(TOKENS + NAMES + [
    " + ", " - ", " * ", " / ", " < ", " > ", "1", "0.5", "'NORMAL'"]), max_size=40).map("".join))
def test_fuzz_expression(text):
    try:
        expr = compile_expr(text, VOCAB.is_readable, VOCAB.choices_of, ("fuzz.yaml", 3, 12),
                            candidates=NAMES)
    except HilError as exc:
        assert_located(exc, "fuzz.yaml")
        return
    # What compiles evaluates, on scalars and arrays alike, without an exception.
    values = {name: np.array([0.0, 1.0, np.nan, 1e308]) for name in expr.names}
    expr.truth(values)
    expr.truth({name: 2.0 for name in expr.names})
