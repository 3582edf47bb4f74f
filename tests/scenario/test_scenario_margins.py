"""Robustness margins of every expectation kind against hand-computed values on small
synthetic traces, including the sign at the boundary (0 = on it, the verdict decides)."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_doubles import ENGINE_MODES, MS, US, FakeTrace, S, periodic, steps

from hil.scenario.expect import evaluate, format_margin
from hil.scenario.expr import compile_expr
from hil.scenario.model import (
    Always,
    Budget,
    Eventually,
    Latency,
    Never,
    Period,
    Settle,
    Value,
)

SIGNALS = {"BoostPressure", "FuelCut", "SparkCut", "EngineMode", "Lambda"}
UNITS = {"BoostPressure": "kPa", "FuelCut": "", "SparkCut": "", "EngineMode": "",
         "Lambda": ""}
# (minimum, maximum, resolution) as the DBC declares them
LIMITS = {"BoostPressure": (0.0, 500.0, 0.5), "FuelCut": (0.0, 1.0, 1.0),
          "SparkCut": (0.0, 1.0, 1.0), "EngineMode": (0.0, 3.0, 1.0)}


def cond(text: str):
    return compile_expr(text, SIGNALS, lambda n: ENGINE_MODES if n == "EngineMode" else None)


def trace(signals, **kw) -> FakeTrace:
    return FakeTrace(signals, units=UNITS, limits=LIMITS, **kw)


def boost(peak: float) -> FakeTrace:
    return trace({"BoostPressure": steps((0, 200), (1000, peak), (1500, 210))})


# --- conditions: the STL semantics of Expr.robustness -------------------------------------

@pytest.mark.parametrize("text, x, expected", [
    ("x > 3", 5.0, 2.0), ("x > 3", 3.0, 0.0), ("x >= 3", 2.0, -1.0),
    ("x < 3", 1.0, 2.0), ("x <= 3", 4.5, -1.5),
    ("x == 3", 3.0, 0.0), ("x == 3", 5.0, -2.0), ("x != 3", 1.0, 2.0),
    ("1 < x < 4", 3.0, 1.0), ("1 < x < 4", 1.5, 0.5),
    ("not x > 3", 5.0, -2.0), ("x > 3 and x < 10", 9.0, 1.0),
    ("x > 3 or x < -3", 0.0, -3.0), ("abs(x) < 2", -1.5, 0.5), ("x", -2.0, 2.0),
    ("2 * x - 1 > 4", 3.0, 1.0),
])
def test_condition_robustness_hand_computed(text, x, expected):
    e = compile_expr(text, {"x"})
    rho = e.robustness({"x": x})
    assert rho == pytest.approx(expected)
    assert str(rho) != "-0.0"  # the boundary is +0
    # the sign agrees with the truth value away from the boundary
    if expected != 0:
        assert bool(e.truth({"x": x})) == (expected > 0)


def test_condition_robustness_is_nan_before_a_signal_is_seen_and_scales_divide():
    e = compile_expr("x > 3 and y == 0", {"x", "y"})
    measure = {"x": (10.0, 0.1), "y": (1.0, 1.0)}   # name -> (scale, resolution)
    rho = e.robustness({"x": np.array([np.nan, 5.0, 5.0]), "y": np.array([0.0, 0.0, 1.0])},
                       measure)
    assert np.isnan(rho[0])
    # min(2 / 10, (1/2 - 0) / 1) and min(2 / 10, (1/2 - 1) / 1)
    assert rho[1:] == pytest.approx([0.2, -0.5])
    assert compile_expr("x > 3", {"x"}).robustness({"x": 5.0}, {"x": (10.0, 0.1)}) == 0.2


@pytest.mark.parametrize("text, x, expected", [
    ("x == 3", 3.0, 0.5), ("x == 3", 4.0, -0.5), ("x == 3", 5.0, -1.5),
    ("x != 3", 3.0, -0.5), ("x != 3", 4.0, 0.5), ("x", 0.0, -0.5), ("not x", 0.0, 0.5),
])
def test_equality_of_a_quantised_signal_has_half_a_step_of_room(text, x, expected):
    # a signal of resolution 1: 3 == 3 holds until the value moves half a step
    e = compile_expr(text, {"x"})
    rho = e.robustness({"x": x}, {"x": (1.0, 1.0)})
    assert rho == pytest.approx(expected)
    assert bool(e.truth({"x": x})) == (expected > 0)


def test_true_and_false_constants_are_infinite():
    e = compile_expr("x > 3 or True", {"x"})
    assert e.robustness({"x": 0.0}) == np.inf


# --- never / always -----------------------------------------------------------------------

def test_never_margin_is_the_room_below_the_bound():
    # the example: never BoostPressure > 270 with a maximum of 262 kPa: +8 kPa
    v = evaluate(Never(condition=cond("BoostPressure > 270")), boost(262))
    assert v.passed and v.margin == pytest.approx(8.0) and v.margin_unit == "kPa"
    assert v.margin_text == "+8 kPa"


def test_never_margin_sign_at_the_boundary():
    at = evaluate(Never(condition=cond("BoostPressure > 270")), boost(270))
    assert at.passed and at.margin == 0.0          # on the bound: held with no room
    strict = evaluate(Never(condition=cond("BoostPressure >= 270")), boost(270))
    assert not strict.passed and strict.margin == 0.0   # on the bound: violated by nothing
    over = evaluate(Never(condition=cond("BoostPressure > 270")), boost(270.5))
    assert not over.passed and over.margin == pytest.approx(-0.5)


def test_always_margin_is_the_minimum_over_the_window():
    t = trace({"BoostPressure": steps((0, 200), (1000, 245), (2000, 260))})
    v = evaluate(Always(condition=cond("BoostPressure <= 250"), during=(0, 1500 * MS)), t)
    assert v.passed and v.margin == pytest.approx(5.0)
    v = evaluate(Always(condition=cond("BoostPressure <= 250")), t)
    assert not v.passed and v.margin == pytest.approx(-10.0)


def test_always_a_and_b_of_different_units_is_normalised_by_dbc_range():
    t = trace({"BoostPressure": steps((0, 200), (1000, 240)),
               "FuelCut": steps((0, 0), (1200, 1))})
    v = evaluate(Always(condition=cond("BoostPressure <= 250 and FuelCut == 0"),
                        during=(0, 1100 * MS)), t)
    # min(10 kPa / 500 kPa, (1/2 - |0 - 0|) / 1) = min(0.02, 0.5)
    assert v.passed and v.margin == pytest.approx(0.02) and v.margin_unit == "range"
    v = evaluate(Always(condition=cond("BoostPressure <= 250 and FuelCut == 0")), t)
    assert not v.passed and v.margin == pytest.approx(-0.5)   # FuelCut 1: half a step out
    v = evaluate(Always(condition=cond("BoostPressure <= 250 or FuelCut == 1")), t)
    # max(10/500, -1) until 1.2 s, then max(0.02, 0): the minimum over time is 0.02
    assert v.passed and v.margin == pytest.approx(0.02)
    assert v.margin_text == "+2 % of range"


# --- latency ------------------------------------------------------------------------------

def _lat_trace(delay_ms: float, *, react: bool = True) -> FakeTrace:
    cut = [(0.5, 0)] + ([(1000.3 + delay_ms, 1)] if react else [])
    return trace({"BoostPressure": steps((0.3, 200), (1000.3, 255)),
                  "FuelCut": steps(*cut)}, end_ns=2 * S)


LAT = Latency(cause=cond("BoostPressure > 250"), reaction=cond("FuelCut == 1"), max_ns=1 * MS)


def test_latency_margin_is_max_minus_worst():
    # the example: latency max 1 ms with a worst case of 236 us: +764 us
    v = evaluate(LAT, _lat_trace(0.236))
    assert v.passed and v.margin == pytest.approx(764 * US) and v.margin_unit == "ns"
    assert v.margin_text == "+764 us"


def test_latency_margin_sign_at_the_boundary():
    at = evaluate(LAT, _lat_trace(1.0))
    assert at.passed and at.margin == 0.0
    late = evaluate(LAT, _lat_trace(1.000001))
    assert not late.passed and late.margin == pytest.approx(-1.0)


def test_latency_without_reaction_counts_to_the_end_of_the_trace():
    v = evaluate(LAT, _lat_trace(0, react=False))
    assert not v.passed
    assert v.margin == pytest.approx(1 * MS - (2 * S - 1000.3 * MS))


def test_latency_without_occurrence_has_no_margin():
    t = trace({"BoostPressure": steps((0.3, 200)), "FuelCut": steps((0.5, 0))})
    v = evaluate(Latency(cause=cond("BoostPressure > 250"), reaction=cond("FuelCut == 1"),
                         max_ns=MS, allow_none=True), t)
    assert v.passed and v.margin is None and v.margin_text == "-"


# --- eventually ---------------------------------------------------------------------------

def test_eventually_margin_is_within_minus_delay():
    # the example: eventually within 10 s, reached at 2.6 s: +7.4 s
    t = trace({"EngineMode": steps((0, 0), (2600, 2))}, end_ns=12 * S)
    v = evaluate(Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=10 * S), t)
    assert v.passed and v.margin == pytest.approx(7.4 * S) and v.margin_text == "+7.4 s"


def test_eventually_margin_sign_at_the_boundary_and_when_never_reached():
    at = trace({"EngineMode": steps((0, 0), (10_000, 2))}, end_ns=12 * S)
    v = evaluate(Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=10 * S), at)
    assert v.passed and v.margin == 0.0
    late = trace({"EngineMode": steps((0, 0), (11_000, 2))}, end_ns=12 * S)
    v = evaluate(Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=10 * S), late)
    assert not v.passed and v.margin == pytest.approx(-1 * S)
    never = trace({"EngineMode": steps((0, 0))}, end_ns=12 * S)
    v = evaluate(Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=10 * S), never)
    assert not v.passed and v.margin == pytest.approx(-2 * S)


# --- period, budget -----------------------------------------------------------------------

def test_period_margin_is_jitter_minus_worst_deviation():
    t_end = [0, 10 * MS, 20_300 * US, 30 * MS, 39_800 * US]   # intervals 10, 10.3, 9.7, 9.8
    t = FakeTrace(frames={"EcuFast": t_end})
    v = evaluate(Period(message="EcuFast", nominal_ns=10 * MS, jitter_ns=500 * US), t)
    assert v.passed and v.margin == pytest.approx(200 * US)
    v = evaluate(Period(message="EcuFast", nominal_ns=10 * MS, jitter_ns=300 * US), t)
    assert v.passed and v.margin == 0.0               # 10.3 ms is on the bound
    v = evaluate(Period(message="EcuFast", nominal_ns=10 * MS, jitter_ns=200 * US), t)
    assert not v.passed and v.margin == pytest.approx(-100 * US)


def test_budget_margin_is_max_minus_longest_run():
    times = {"fast": np.array([100, 250, 180]) * US}
    v = evaluate(Budget(task="fast", max_ns=300 * US), FakeTrace(), times)
    assert v.passed and v.margin == pytest.approx(50 * US)
    v = evaluate(Budget(task="fast", max_ns=250 * US), FakeTrace(), times)
    assert v.passed and v.margin == 0.0
    v = evaluate(Budget(task="fast", max_ns=200 * US), FakeTrace(), times)
    assert not v.passed and v.margin == pytest.approx(-50 * US)


# --- value, settle ------------------------------------------------------------------------

def test_value_margin_is_the_tightest_bound():
    t = trace({"BoostPressure": steps((0, 200), (1000, 240))}, end_ns=2 * S)
    v = evaluate(Value(signal="BoostPressure", min=230, max=250), t)
    assert v.passed and v.margin == pytest.approx(10.0) and v.margin_text == "+10 kPa"
    v = evaluate(Value(signal="BoostPressure", equals=238, tolerance=5), t)
    assert v.passed and v.margin == pytest.approx(3.0)
    v = evaluate(Value(signal="BoostPressure", equals=240), t)
    assert v.passed and v.margin == 0.25            # half the 0.5 kPa resolution
    v = evaluate(Value(signal="BoostPressure", equals=240.5), t)
    assert not v.passed and v.margin == -0.25
    v = evaluate(Value(signal="BoostPressure", max=239), t)
    assert not v.passed and v.margin == pytest.approx(-1.0)


def test_settle_margin_is_band_minus_worst_deviation():
    # binary fractions, so the boundary is exact in floating point
    t = trace({"Lambda": periodic(0, 100, [1.5, 1.25, 1.125, 0.875, 1.25, 1.0])},
              end_ns=600 * MS)
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.375, by_ns=200 * MS), t)
    assert v.passed and v.margin == 0.125
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.25, by_ns=200 * MS), t)
    assert v.passed and v.margin == 0.0
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.25, by_ns=0), t)
    assert not v.passed and v.margin == -0.25


@pytest.mark.parametrize("margin, unit, text", [
    (764_000.0, "ns", "+764 us"), (-8.0, "kPa", "-8 kPa"), (0.035, "range", "+3.5 % of range"),
    (0.0, "", "+0"), (None, "ns", "-"),
])
def test_format_margin(margin, unit, text):
    assert format_margin(margin, unit) == text


# --- ranking across units: relative margins -------------------------------------------

def test_relative_margin_is_a_fraction_of_the_bound_band_range_or_step():
    assert evaluate(LAT, _lat_trace(0.25)).relative_margin == pytest.approx(0.75)
    v = evaluate(Never(condition=cond("BoostPressure > 270")), boost(262))
    assert v.relative_margin == pytest.approx(8 / 500)          # of the DBC range
    t = trace({"FuelCut": steps((0, 0))})
    v = evaluate(Always(condition=cond("FuelCut == 0")), t)
    assert v.margin == 0.5 and v.relative_margin == 0.5          # half a step of room
    v = evaluate(Value(signal="BoostPressure", equals=200, tolerance=5), boost(262))
    assert v.relative_margin == pytest.approx((5 - 10) / 10)     # of the tolerance band
