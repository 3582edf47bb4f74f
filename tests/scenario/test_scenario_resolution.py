"""Bounds on DBC-quantised signals are met within half the signal's resolution, and
messages show values at the signal's precision (issue 12 item 5; docs/scenarios.md,
"Resolution").

Lambda is sent with a scale of 0.002 (offset 0.5): 0.98 decodes as 0.5 + 240 * 0.002, and
|0.98 - 1| = 0.020000000000000018 > 0.02 in float arithmetic. The values below are decoded
by cantools from frames the real DBC encodes, as the trace decodes them.
"""

from __future__ import annotations

from pathlib import Path

import cantools
import pytest
from scenario_doubles import FakeTrace, S

from hil.scenario.expect import evaluate
from hil.scenario.model import Settle, Value

DBC = Path(__file__).resolve().parents[2] / "dbc" / "ntec5.dbc"
WHERE = ("s.yaml", 12, 5)


@pytest.fixture(scope="module")
def plant_fast():
    return cantools.database.load_file(str(DBC)).get_message_by_name("PlantFast")


def decoded(message, value: float) -> float:
    """Lambda as the bus carries it: encoded to its raw value and decoded again."""
    signals = {s.name: (s.minimum if s.minimum is not None else 0) for s in message.signals}
    signals = {n: (message.get_signal_by_name(n).choices or {v: v}).get(v, v) for n, v in
               signals.items()}
    signals["Lambda"] = value
    return float(message.decode(message.encode(signals, strict=False),
                                decode_choices=False)["Lambda"])


def lambda_trace(message, value: float) -> FakeTrace:
    sig = message.get_signal_by_name("Lambda")
    limits = (float(sig.minimum), float(sig.maximum), float(sig.scale))
    settled = decoded(message, value)
    return FakeTrace({"Lambda": ([0, 1 * S, 2 * S], [decoded(message, 1.2), settled, settled])},
                     end_ns=3 * S, limits={"Lambda": limits})


def test_the_bound_case_is_what_the_float_arithmetic_makes_it(plant_fast):
    on_bound = decoded(plant_fast, 0.98)
    assert abs(on_bound - 1) > 0.02   # 0.020000000000000018: the reason for the tolerance


def test_settle_exactly_on_the_band_passes_and_reads_at_signal_precision(plant_fast):
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.02, by_ns=1 * S, where=WHERE),
                 lambda_trace(plant_fast, 0.98))
    assert v.passed, v.message
    assert v.message.endswith("worst deviation after 1 s: 0.020"), v.message
    assert "0.020000000000000018" not in v.message
    assert v.margin == 0.0 and v.margin_text == "+0"


def test_settle_one_step_outside_the_band_fails(plant_fast):
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.02, by_ns=1 * S, where=WHERE),
                 lambda_trace(plant_fast, 0.978))
    assert not v.passed
    assert "Lambda not settled at 1 ± 0.02 by 1 s: 0.978 at t=1 s" in v.message, v.message
    assert v.margin == pytest.approx(-0.002)


@pytest.mark.parametrize(("kind", "bound", "value", "passed"), [
    ("min", 0.98, 0.98, True), ("min", 0.98, 0.978, False),
    ("max", 1.02, 1.02, True), ("max", 1.02, 1.022, False),
    ("tolerance", 0.02, 0.98, True), ("tolerance", 0.02, 0.978, False),
])
def test_value_bounds_are_met_within_half_a_step(plant_fast, kind, bound, value, passed):
    spec = ({"equals": 1.0, "tolerance": bound} if kind == "tolerance" else {kind: bound})
    v = evaluate(Value(signal="Lambda", at_ns=None, where=WHERE, **spec),
                 lambda_trace(plant_fast, value))
    assert v.passed is passed, v.message
    assert f"was {value:.3f}" in v.message, v.message


def test_a_plant_quantity_has_no_resolution_and_no_tolerance():
    trace = FakeTrace({"engine.lambda": ([0, 1 * S], [1.2, 0.98])}, end_ns=3 * S)
    v = evaluate(Settle(signal="engine.lambda", target=1.0, band=0.02, by_ns=1 * S,
                        where=WHERE), trace)
    assert not v.passed   # not quantised: the float comparison is the comparison
    assert "0.98 at t=1 s" in v.message
