"""Negative proof of ``hil search``: against the deliberately defective safety path (one
task period late), the search of scenarios/search/lean_search.yaml, which names no defect
and whose nominal scenario has no lean event at all, finds a violation of the 1 ms lean
cut within a small budget and a fixed seed, shrinks it to at most two faults, and the
counterexample it writes replays through the runner to the same verdicts and the same
trace hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.run.runner import load, run_scenario
from hil.search.engine import load_search_spec, run_search

REPO = Path(__file__).resolve().parents[3]
SPEC = REPO / "scenarios" / "search" / "lean_search.yaml"


@pytest.mark.slow
def test_search_finds_the_late_safety_path_and_shrinks_it(defective_rig, tmp_path):
    rig = defective_rig({"safety_fast": "defective:SafetyFastOneStepLate"})
    spec = load_search_spec(SPEC, rig=rig)
    lines: list[str] = []
    result = run_search(spec, max_examples=12, max_shrinks=25, time_s=3600, seed=3,
                        report_dir=tmp_path, rig=rig, progress=lines.append)
    assert result.found, "\n".join(lines)
    cx = result.counterexample
    assert 1 <= len(cx.faults) <= 2, cx.describe(spec)
    failed = [v for v in result.search_result.verdicts if not v.passed]
    assert any(v.expectation.kind == "latency" and v.margin is not None and v.margin < 0
               for v in failed), [str(v) for v in failed]

    # The counterexample is an ordinary scenario: loaded and run as `hil run` does, it
    # gives the same verdicts and the same trace, bit for bit.
    path = Path(result.counterexample_path)
    assert path == tmp_path / "search" / "lean_search" / "counterexample.yaml"
    replay = run_scenario(load(path), formats=(), plots=False)
    assert [v.passed for v in replay.verdicts] == [v.passed for v in
                                                   result.search_result.verdicts]
    assert replay.trace_sha256 == result.search_result.trace_sha256
    assert result.replay_identical
    summary = result.summary()
    assert summary["examples"] <= 12 and summary["shrink_runs"] <= 25
    assert summary["shrink_steps"] and summary["counterexample"]["faults"] == len(cx.faults)
    assert (tmp_path / "search" / "lean_search" / "search.json").exists()


def test_the_healthy_safety_path_passes_the_nominal_lean_scenario(defective_rig, tmp_path):
    # the spec does not hard-code the defect: with no fault, the healthy ECU and the
    # defective one both pass (there is no lean event to react to)
    from hil.search.engine import Candidate, scenario_text

    rig = defective_rig({"safety_fast": "defective:SafetyFastOneStepLate"})
    spec = load_search_spec(SPEC, rig=rig)
    path = tmp_path / "nominal.yaml"
    path.write_text(scenario_text(spec, Candidate((), None, (), ()), rig_ref=str(rig)))
    result = run_scenario(load(path), formats=(), plots=False)
    assert result.passed, result.failure_text()


LAMBDA_SPEC = REPO / "scenarios" / "search" / "lambda_search.yaml"


def test_search_finds_the_wrong_sign_lambda_trim(defective_rig, tmp_path):
    # The wrong-sign trim runs away from the first lean reading of the warm-up, so the
    # simplest scenario of the space already breaks the property: found with no fault.
    rig = defective_rig({"lambda": "defective:LambdaTrimWrongSign"})
    spec = load_search_spec(LAMBDA_SPEC, rig=rig)
    result = run_search(spec, max_examples=5, max_shrinks=10, time_s=3600, report_dir=tmp_path,
                        rig=rig)
    assert result.found
    assert len(result.counterexample.faults) <= 2, result.counterexample.describe(spec)
    (always,) = [v for v in result.search_result.verdicts if not v.passed]
    assert always.expectation.kind == "always" and always.margin < 0
    assert result.replay_identical


def test_a_parallel_search_splits_the_budget_and_is_deterministic(defective_rig, tmp_path):
    # -n 2: two worker processes, each its share of the examples and its own seed; the
    # same seed and worker count give the same counterexample, which replays bit for bit.
    from hil.search.engine import worker_seed

    rig = defective_rig({"lambda": "defective:LambdaTrimWrongSign"})
    spec = load_search_spec(LAMBDA_SPEC, rig=rig)
    texts = []
    for run in ("a", "b"):
        lines: list[str] = []
        result = run_search(spec, max_examples=4, max_shrinks=4, time_s=3600, workers=2,
                            report_dir=tmp_path / run, rig=rig, progress=lines.append)
        assert result.found and result.replay_identical
        summary = result.summary()
        assert summary["examples"] <= 4 and summary["shrink_runs"] <= 2 * 4
        assert summary["shrink_steps"][0].startswith("worker 1: "), summary["shrink_steps"]
        assert "2 workers" in lines[0]
        texts.append(Path(result.counterexample_path).read_text())
        assert (tmp_path / run / "search" / "lambda_search" / "hypothesis-db" /
                "worker-2").is_dir()
    assert texts[0] == texts[1]
    assert worker_seed(spec.seed, 0) == spec.seed != worker_seed(spec.seed, 1)
