"""Rig fitness on every verdict, without a bus: the ECU side's stalls (gaps in its frames
as the bench received them), a step error after a stall, and a preflight whose only
failure is the bench's own pacing (the scenario is INCONCLUSIVE, never FAIL).

Synthetic stalls and pacing figures in simulated time: what is asserted is the rule, not
this machine's scheduling.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hil.bench.base import Fitness, tightest_timing_bound_ns
from hil.bench.fitness import (
    Stall,
    ecu_on_this_machine,
    ecu_stall_tolerance_ns,
    ecu_stalls,
    qualify_error,
    qualify_stalls,
)
from hil.bench.preflight import PACING_CHECK, is_inconclusive, pacing_check
from hil.config.rig import load_rig
from hil.config.session import SessionPolicy
from hil.nodes import ECU
from hil.run.runner import ScenarioResult, load
from hil.scenario.expect import Verdict
from hil.trace import Trace
from hil.wire.dbc import load_dbc

REPO = Path(__file__).resolve().parents[2]
UDP = load_rig(REPO / "rigs" / "udp.yaml")
DB = load_dbc(UDP.dbc)
MS = 1_000_000


def _trace_with_ecu_frames(times_ms: list[float]) -> Trace:
    """EcuFast received by the bench at ``times_ms`` (the ECU's frames, as RX)."""
    msg = DB.get_message_by_name("EcuFast")
    trace = Trace(DB, nodes=("PLANT", ECU, "BENCH"))
    data = bytes(msg.length)
    for t in times_ms:
        ns = round(t * MS)
        trace.add_frame(ns, ns, msg.frame_id, data, 1, 0)
    trace.close()
    return trace


def test_a_gap_in_the_ecu_frames_is_a_stall_of_the_ecu_side_named_by_time_and_size():
    times = [float(k) for k in range(100)]                 # one EcuFast per 1 ms
    times += [99.0 + 6.0 + k for k in range(100)]          # none for 6 ms: a 5 ms stall
    stalls = ecu_stalls(_trace_with_ecu_frames(times), DB, ECU)
    assert stalls == [Stall(100 * MS, 5 * MS, "ecu")]
    assert stalls[0].text().startswith("the ECU side stalled 5 ms at 0.100 s")
    # Regular frames (the usual interval, whatever it is) are no stall.
    assert ecu_stalls(_trace_with_ecu_frames([k * 1.0 for k in range(300)]), DB, ECU) == []


def test_an_ecu_side_stall_makes_a_later_failure_inconclusive_naming_it():
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    never = scenario.expect[2]
    tolerance = ecu_stall_tolerance_ns(UDP, DB)
    failed = Verdict(passed=False, expectation=never, message="failed", t_ns=2_000 * MS)
    out = qualify_stalls([failed], [Stall(1_000 * MS, 5 * MS, "ecu")], tolerance_ns=tolerance,
                         end_ns=5_000 * MS)
    assert is_inconclusive(out[0])
    assert "the ECU side stalled 5 ms at 1.000 s" in out[0].reason
    assert "this machine's scheduling of the ECU process" in out[0].reason
    # One within the supervision's tolerance decides nothing.
    kept = qualify_stalls([failed], [Stall(1_000 * MS, 1_500_000, "ecu")],
                          tolerance_ns=tolerance, end_ns=5_000 * MS)
    assert not is_inconclusive(kept[0])


def test_only_an_ecu_on_this_machine_has_stalls_that_are_the_machines():
    assert ecu_on_this_machine(UDP)                                     # hil ecu, loopback
    assert ecu_on_this_machine(load_rig(REPO / "rigs" / "vcan.yaml"))   # vcan0: hil ecu
    pcan = load_rig(REPO / "rigs" / "pcan.yaml")
    assert not ecu_on_this_machine(pcan)                                # a real ECU
    started = dataclasses.replace(pcan, session=SessionPolicy(restart="process"))
    assert ecu_on_this_machine(started)                                 # the bench starts it


def test_a_step_error_after_a_stall_beyond_the_tolerance_is_the_rigs_doing():
    tolerance = ecu_stall_tolerance_ns(UDP, DB)
    stalls = [Stall(500 * MS, 8 * MS), Stall(3_000 * MS, 30 * MS, "ecu")]
    reason = qualify_error(stalls, 1_000 * MS, tolerance_ns=tolerance)
    assert reason is not None and "the bench stalled 8 ms at 0.500 s" in reason
    assert "2 ms the ECU's message supervision tolerates" in reason
    assert qualify_error(stalls, 400 * MS, tolerance_ns=tolerance) is None   # before any
    assert qualify_error([Stall(500 * MS, MS)], 1_000 * MS, tolerance_ns=tolerance) is None
    assert qualify_error(stalls, 1_000 * MS, tolerance_ns=None) is None


def test_a_result_whose_error_may_be_the_rigs_is_inconclusive_never_a_pass_or_fail():
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    passed = Verdict(passed=True, expectation=scenario.expect[2], message="held")
    failed = dataclasses.replace(passed, passed=False, message="failed")
    undecided = ScenarioResult(scenario, [passed], [], "wait_until X did not hold", 0, 0.0,
                               error_inconclusive="the bench stalled 8 ms at 0.500 s")
    assert undecided.status == "inconclusive" and not undecided.passed
    assert undecided.failure_text().startswith("INCONCLUSIVE wait_until X did not hold (the "
                                               "bench stalled 8 ms")
    assert undecided.summary()["error_inconclusive"].startswith("the bench stalled")
    # A verdict that failed outright still fails the scenario.
    assert dataclasses.replace(undecided, verdicts=[failed]).status == "fail"
    # An error nobody qualified is a failure.
    assert dataclasses.replace(undecided, error_inconclusive=None).status == "fail"


PACING_OK = {"events": 1500, "p50_us": 2.0, "p99_us": 40.0, "max_us": 300.0, "overruns": 0,
             "policy": "SCHED_FIFO 50", "stalls": 0, "worst_stall": None}
PACING_STALLED = {**PACING_OK, "p99_us": 900.0, "max_us": 14_000.0, "overruns": 9,
                  "stalls": 9, "worst_stall": {"t_s": 0.734, "late_us": 14_000.0}}


@pytest.mark.parametrize("bound_ms, pacing, status", [
    (1, PACING_OK, "PASS"), (1, PACING_STALLED, "FAIL"), (50, PACING_STALLED, "PASS"),
    (20, PACING_STALLED, "FAIL")])
def test_the_self_test_fails_when_the_pacing_cannot_resolve_the_tightest_bound(
        bound_ms, pacing, status):
    report = Fitness("udp")
    report.add("bus", "PASS", "opened")
    pacing_check(report, pacing, bound_ms * MS, "the tightest timing bound to be judged")
    check = report.checks[-1]
    assert (check.name, check.status) == (PACING_CHECK, status)
    if status == "FAIL":
        assert not report.passed
        assert f"cannot resolve the tightest timing bound to be judged, {bound_ms} ms" \
            in check.detail
        assert "worst stall 14.00 ms at 0.734 s" in check.detail
        # Only the pacing failed: the rig cannot judge the scenario (INCONCLUSIVE).
        assert report.unfit_reason is not None
        assert report.unfit_reason.startswith("preflight self-test: ")
        report.add("ECU state", "FAIL", "LIMP")
        assert report.unfit_reason is None    # a real failure is not the rig's pacing
    else:
        assert report.passed and report.unfit_reason is None


def test_with_no_timing_bound_to_judge_the_self_test_has_nothing_to_resolve():
    report = Fitness("udp")
    pacing_check(report, PACING_STALLED, 0, "the tightest timing bound to be judged")
    assert report.passed and "no timing bound to resolve" in report.checks[-1].detail


def test_the_tightest_bound_is_the_scenarios_smallest_timing_bound():
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    assert tightest_timing_bound_ns(scenario.expect) == 50 * MS   # latency max 50 ms
    assert tightest_timing_bound_ns(scenario.expect[2:]) is None  # never: no timing bound


def test_no_ecu_stall_from_an_empty_recording():
    assert ecu_stalls(_trace_with_ecu_frames([]), DB, ECU) == []
    assert np.isfinite(ecu_stall_tolerance_ns(UDP, DB))


class _Frames:
    def __init__(self, t_end_ns):
        self.t_end_ns = np.asarray(t_end_ns, dtype=np.int64)
        self.data = np.zeros((len(t_end_ns), 8), dtype=np.uint8)
        self.dlc = np.full(len(t_end_ns), 8)


class _CycleBench:
    """What the preflight's message checks read of a bench: EcuFast every 0.74 ms (a burst
    after a stall), every other ECU message at its DBC cycle."""

    def __init__(self, stalls):
        self.rig, self.db, self._stalls = UDP, DB, stalls

    def stalls(self):
        return self._stalls

    def frames(self, name):
        from hil.wire.dbc import cycle_time_ns

        period = 740_000 if name == "EcuFast" else cycle_time_ns(DB.get_message_by_name(name))
        return _Frames(np.arange(1, 2001) * (period or 100 * MS))


def _cycle_check(stalls):
    from hil.bench.preflight import _check_ecu_messages

    report = Fitness("udp")
    bench = _CycleBench(stalls)
    _check_ecu_messages(report, bench, bench, warmup_s=0.3, tolerance=0.2)
    return next(c for c in report.checks if c.name == "EcuFast cycle")


def test_an_ecu_cycle_distorted_by_a_bench_stall_warns_naming_the_stall():
    """Measured on the udp rig: a 100 ms stall of the bench, its catch-up burst of PlantFast
    frames, EcuFast's mean period 0.726 ms, and the preflight FAILED the scenario. The
    period is the bench's: a warning naming the stall (each verdict then weighs it)."""
    check = _cycle_check([Stall(500 * MS, 100 * MS)])
    assert check.status == "WARN"
    assert "the bench stalled 100 ms at 0.500 s" in check.detail
    assert "mean period 0.740 ms" in check.detail


def test_an_ecu_cycle_off_without_a_stall_still_fails():
    assert _cycle_check([]).status == "FAIL"
    tolerated = ecu_stall_tolerance_ns(UDP, DB)
    assert _cycle_check([Stall(500 * MS, tolerated)]).status == "FAIL"   # within tolerance
    # a stall in the warm-up counts: its catch-up burst runs on after it
    assert _cycle_check([Stall(226 * MS, 8 * MS)]).status == "WARN"
