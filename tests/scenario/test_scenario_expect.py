"""Every expectation kind, passing and failing, on small synthetic traces (FakeTrace)."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_doubles import ENGINE_MODES, MS, US, FakeTrace, S, periodic, steps

from hil.scenario.align import align
from hil.scenario.expect import Verdict, evaluate, evaluate_all
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

WHERE = ("s.yaml", 30, 5)
SIGNALS = {"BoostPressure", "FuelCut", "SparkCut", "EngineMode", "Lambda", "engine.speed_rpm"}


def cond(text: str):
    return compile_expr(text, SIGNALS, lambda n: ENGINE_MODES if n == "EngineMode" else None,
                        WHERE)


def overboost_trace(reaction_delay_ms: float = 0.6, *, cut_falls: bool = True,
                    end_ns: int = 6 * S) -> FakeTrace:
    """Boost crosses 240 kPa twice (1.0 s and 3.0 s); the cut follows after a delay."""
    boost = steps((0.3, 200), (1000.3, 245), (1500.3, 200), (3000.3, 250), (3500.3, 200))
    cut_points = [(0.55, 0), (1000.3 + reaction_delay_ms, 1)]
    if cut_falls:
        cut_points += [(1600.55, 0), (3000.3 + reaction_delay_ms, 1), (3600.55, 0)]
    return FakeTrace({"BoostPressure": boost, "FuelCut": steps(*cut_points),
                      "SparkCut": steps((0.55, 0))}, end_ns=end_ns)


def test_verdict_str_names_where_and_outcome():
    v = evaluate(Never(condition=cond("BoostPressure > 280"), where=WHERE), overboost_trace())
    assert isinstance(v, Verdict)
    assert str(v).startswith("s.yaml:30:5: PASS never 'BoostPressure > 280'")
    assert v.signals_involved == ["BoostPressure"]


# --- latency -------------------------------------------------------------------------

LAT = Latency(cause=cond("BoostPressure > 240"), reaction=cond("FuelCut == 1 or SparkCut == 1"),
              max_ns=1 * MS, where=WHERE)


def test_latency_passes_for_every_occurrence():
    v = evaluate(LAT, overboost_trace(0.6))
    assert v.passed, v.message
    assert "2 occurrences, worst 600 us" in v.message
    assert v.observed == 600 * US and v.bound == 1 * MS


def test_latency_fails_with_time_and_worst():
    v = evaluate(LAT, overboost_trace(1.37))
    assert not v.passed
    assert v.message == ("latency 'BoostPressure > 240' -> 'FuelCut == 1 or SparkCut == 1' was "
                         "1.37 ms at t=1.0003 s (max 1 ms); 2 occurrences, worst 1.37 ms, "
                         "2 over the limit")
    assert v.t_ns == 1_000_300_000
    assert v.observed == pytest.approx(1.37 * MS)


def test_latency_occurrence_without_reaction_fails():
    # The cut latches after the first overboost and never comes back for the second one...
    trace = overboost_trace(0.6, cut_falls=False)
    assert evaluate(LAT, trace).passed  # ...still cut at 3 s: a reaction in place, latency 0
    stuck_off = FakeTrace({"BoostPressure": steps((0.3, 200), (1000.3, 245)),
                           "FuelCut": steps((0.55, 0)), "SparkCut": steps((0.55, 0))})
    v = evaluate(LAT, stuck_off)
    assert not v.passed
    assert "no reaction to the occurrence at t=1.0003 s before the end of the trace" in v.message


def test_latency_with_no_occurrence_fails_unless_allowed():
    quiet = FakeTrace({"BoostPressure": steps((0.3, 200)), "FuelCut": steps((0.55, 0)),
                       "SparkCut": steps((0.55, 0))})
    v = evaluate(LAT, quiet)
    assert not v.passed and "0 occurrences" in v.message and "allow_none" in v.message
    allowed = Latency(cause=LAT.cause, reaction=LAT.reaction, max_ns=MS, allow_none=True)
    assert evaluate(allowed, quiet).passed


def test_latency_counts_rising_edges_not_samples():
    # Boost stays above 240 for many frames: one occurrence, measured from the first frame.
    t, v = periodic(0, 1, [200] * 10 + [250] * 50 + [200] * 10)
    trace = FakeTrace({"BoostPressure": (t, v), "FuelCut": steps((10.5, 0), (10.9, 1)),
                       "SparkCut": steps((0, 0))})
    verdict = evaluate(LAT, trace)
    assert verdict.passed and "1 occurrence, worst 900 us" in verdict.message


def test_latency_during_window_ignores_earlier_occurrences():
    late = Latency(cause=LAT.cause, reaction=LAT.reaction, max_ns=MS, during=(2 * S, None))
    trace = FakeTrace({"BoostPressure": steps((0.3, 200), (1000.3, 245), (1500.3, 200),
                                              (3000.3, 250)),
                       "FuelCut": steps((0.55, 0), (1005, 1), (1600, 0), (3000.8, 1)),
                       "SparkCut": steps((0.55, 0))})
    assert not evaluate(LAT, trace).passed
    assert evaluate(late, trace).passed


# --- never / always ---------------------------------------------------------------------

def test_never_passes_and_fails_with_values():
    trace = FakeTrace({"BoostPressure": steps((0.3, 200), (2101, 281.5), (2103, 250))})
    never = Never(condition=cond("BoostPressure > 280"), where=WHERE)
    v = evaluate(never, trace)
    assert not v.passed
    assert v.message.startswith("never 'BoostPressure > 280' violated at t=2.101 s: "
                                "BoostPressure=281.5 (for 2 ms")
    assert v.t_ns == 2101 * MS and v.observed == 281.5
    inside = Never(condition=never.condition, during=(0, 2 * S))
    assert evaluate(inside, trace).passed


def test_always_counts_from_first_sample_and_honours_window():
    trace = FakeTrace({"Lambda": steps((10, 1.0), (500, 1.4), (900, 1.0))})
    whole = Always(condition=cond("Lambda < 1.3"))
    v = evaluate(whole, trace)
    assert not v.passed and "false at t=0.5 s: Lambda=1.4 (for 400 ms" in v.message
    window = Always(condition=whole.condition, during=(1 * S, 5 * S))
    v = evaluate(window, trace)
    assert v.passed and "held from t=1 s to t=5 s" in v.message


def test_always_window_start_uses_the_held_value():
    # The violating value was set before the window and is still held inside it.
    trace = FakeTrace({"Lambda": steps((10, 1.0), (500, 1.4), (1500, 1.0))})
    v = evaluate(Always(condition=cond("Lambda < 1.3"), during=(1 * S, 2 * S)), trace)
    assert not v.passed and v.t_ns == 1 * S


def test_always_without_samples_fails():
    trace = FakeTrace({"Lambda": steps((5000, 1.0))})
    v = evaluate(Always(condition=cond("Lambda < 1.3"), during=(1 * S, 2 * S)), trace)
    assert not v.passed and "no samples of Lambda" in v.message


def test_missing_signal_in_trace_fails_cleanly():
    v = evaluate(Never(condition=cond("engine.speed_rpm > 7000")), FakeTrace({}))
    assert not v.passed and "the trace has no engine.speed_rpm" in v.message


# --- eventually ------------------------------------------------------------------------

def limp_trace(limp_at_ms: float) -> FakeTrace:
    return FakeTrace({"BoostPressure": steps((0.3, 200), (1500, 245)),
                      "EngineMode": steps((5, 0), (limp_at_ms, 2))},
                     choices={"EngineMode": ENGINE_MODES})


def test_eventually_after_condition():
    exp = Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=500 * MS,
                     after=cond("BoostPressure > 240"), where=WHERE)
    v = evaluate(exp, limp_trace(1620))
    assert v.passed and "true at t=1.62 s, 120 ms after t=1.5 s" in v.message
    v = evaluate(exp, limp_trace(2300))
    assert not v.passed
    assert "not true until t=2.3 s, 800 ms after t=1.5 s" in v.message
    assert v.observed == 800 * MS and v.bound == 500 * MS


def test_eventually_after_time_and_never_true():
    exp = Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=1 * S, after=1 * S)
    assert evaluate(exp, limp_trace(1700)).passed
    v = evaluate(exp, FakeTrace({"EngineMode": steps((5, 0))}))
    assert not v.passed and "not true at any time after t=1 s" in v.message


def test_eventually_each_checks_every_occurrence():
    boost = steps((0, 200), (1000, 245), (1100, 200), (3000, 245))
    mode = steps((0, 0), (1050, 2), (1200, 0), (3900, 2))
    trace = FakeTrace({"BoostPressure": boost, "EngineMode": mode})
    first = Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=100 * MS,
                       after=cond("BoostPressure > 240"))
    each = Eventually(condition=first.condition, within_ns=100 * MS, after=first.after,
                      each=True)
    assert evaluate(first, trace).passed
    v = evaluate(each, trace)
    assert not v.passed and "1 of 2 occurrences late" in v.message


def test_eventually_after_condition_that_never_happens():
    exp = Eventually(condition=cond("EngineMode == 'LIMP'"), within_ns=MS,
                     after=cond("BoostPressure > 300"))
    assert not evaluate(exp, limp_trace(1600)).passed
    allowed = Eventually(condition=exp.condition, within_ns=MS, after=exp.after,
                         allow_none=True)
    assert evaluate(allowed, limp_trace(1600)).passed


# --- period ------------------------------------------------------------------------------

def test_period_passes_with_statistics():
    rng = np.random.default_rng(0)
    t = np.arange(1, 6000) * MS + rng.integers(-20, 20, 5999) * US
    v = evaluate(Period(message="PlantFast", nominal_ns=MS, jitter_ns=50 * US),
                 FakeTrace(frames={"PlantFast": t}))
    assert v.passed, v.message
    assert "over 5998 intervals (nominal 1 ms ± 50 us)" in v.message and "p99" in v.message


def test_period_fails_on_one_late_frame():
    t = list(np.arange(1, 100) * MS)
    t[50] += 70 * US
    v = evaluate(Period(message="PlantFast", nominal_ns=MS, jitter_ns=50 * US),
                 FakeTrace(frames={"PlantFast": t}))
    assert not v.passed
    assert v.message.startswith("period of PlantFast: interval 1.07 ms ending at t=0.05107 s "
                                "is outside [950 us, 1.05 ms] (2 intervals outside)")
    assert v.observed == 1070 * US and v.bound == 1050 * US


def test_period_fails_on_wrong_mean_and_on_too_few_frames():
    v = evaluate(Period(message="PlantSlow", nominal_ns=10 * MS, jitter_ns=1 * MS),
                 FakeTrace(frames={"PlantSlow": np.arange(1, 50) * 12 * MS}))
    assert not v.passed
    v = evaluate(Period(message="PlantSlow", nominal_ns=10 * MS, jitter_ns=1 * MS),
                 FakeTrace(frames={"PlantSlow": [5 * MS]}))
    assert not v.passed and "only 1 frame of PlantSlow" in v.message


# --- budget ------------------------------------------------------------------------------

def test_budget():
    ok = {"fast": np.full(1000, 50 * US)}
    assert evaluate(Budget(task="fast", max_ns=200 * US), FakeTrace(), ok).passed
    slow = {"fast": np.concatenate([np.full(999, 50 * US), [250 * US]])}
    v = evaluate(Budget(task="fast", max_ns=200 * US), FakeTrace(), slow)
    assert not v.passed
    assert v.message.startswith("budget of task fast exceeded: max 250 us, p99")
    assert "1 runs over" in v.message and v.observed == 250 * US
    v = evaluate(Budget(task="t10ms", max_ns=200 * US), FakeTrace(), ok)
    assert not v.passed and "no execution times recorded for task 't10ms'" in v.message


# --- value -------------------------------------------------------------------------------

def test_value_at_end_with_value_table():
    exp = Value(signal="EngineMode", equals=2.0, equals_label="LIMP")
    assert evaluate(exp, limp_trace(1600)).passed
    normal = FakeTrace({"EngineMode": steps((5, 0))}, choices={"EngineMode": ENGINE_MODES})
    v = evaluate(exp, normal)
    assert not v.passed
    assert v.message == "value of EngineMode at end (t=6 s) was NORMAL (0), expected LIMP (2)"


def test_value_at_time_bounds_and_tolerance():
    trace = FakeTrace({"Lambda": steps((0, 0.9), (2000, 1.02))})
    assert evaluate(Value(signal="Lambda", at_ns=2 * S, equals=1.0, tolerance=0.03),
                    trace).passed
    assert not evaluate(Value(signal="Lambda", at_ns=1 * S, equals=1.0, tolerance=0.03),
                        trace).passed
    v = evaluate(Value(signal="Lambda", at_ns=1 * S, min=0.95, max=1.05), trace)
    assert not v.passed and "was 0.9, expected >= 0.95" in v.message
    v = evaluate(Value(signal="Lambda", at_ns=0, min=0.5), FakeTrace({"Lambda": steps((5, 1))}))
    assert not v.passed and "no sample of Lambda" in v.message


# --- settle ------------------------------------------------------------------------------

def settle_trace(kick_at_ms: float | None = None) -> FakeTrace:
    t, v = periodic(0, 10, np.concatenate([np.linspace(1.2, 1.0, 150), np.full(450, 1.0)]))
    v = np.asarray(v)
    if kick_at_ms is not None:
        v[int(kick_at_ms / 10)] = 1.052
    return FakeTrace({"Lambda": (t, v)})


def test_settle_passes_and_reports_when_it_settled():
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.03, by_ns=3 * S), settle_trace())
    assert v.passed, v.message
    assert v.t_ns is not None and v.t_ns < 1.5 * S


def test_settle_fails_on_a_later_excursion():
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.03, by_ns=3 * S),
                 settle_trace(kick_at_ms=3410))
    assert not v.passed
    assert v.message.startswith("Lambda not settled at 1 ± 0.03 by 3 s: 1.052 at t=3.41 s; "
                                "it entered the band for good at t=3.42 s")


def test_settle_fails_when_too_slow():
    v = evaluate(Settle(signal="Lambda", target=1.0, band=0.03, by_ns=1 * S), settle_trace())
    assert not v.passed and "entered the band for good at" in v.message


# --- alignment -------------------------------------------------------------------------

def test_align_is_sample_and_hold_on_the_union_of_times():
    trace = FakeTrace({"A": ([10, 30], [1.0, 3.0]), "B": ([20, 30, 40], [5.0, 6.0, 7.0])})
    t, values = align(trace, ["A", "B"])
    assert t.tolist() == [10, 20, 30, 40]
    assert values["A"].tolist() == [1.0, 1.0, 3.0, 3.0]
    assert np.isnan(values["B"][0]) and values["B"][1:].tolist() == [5.0, 6.0, 7.0]


def test_align_last_sample_wins_at_equal_times_and_empty_names():
    trace = FakeTrace({"A": ([10, 10, 20], [1.0, 2.0, 3.0])})
    t, values = align(trace, ["A"])
    assert t.tolist() == [10, 20] and values["A"].tolist() == [2.0, 3.0]
    t, values = align(trace, [])
    assert len(t) == 0 and values == {}


def test_evaluate_all_keeps_order():
    trace = overboost_trace()
    verdicts = evaluate_all([LAT, Never(condition=cond("BoostPressure > 280"))], trace)
    assert [v.expectation.kind for v in verdicts] == ["latency", "never"]
