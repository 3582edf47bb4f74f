"""Ranking margins of different units: violations first, then the smallest fraction."""

from __future__ import annotations

from hil.report.margins import smallest_margins, tightest


def v(kind, margin, rel):
    return {"kind": kind, "margin": margin, "relative_margin": rel,
            "margin_text": "-" if margin is None else f"{margin:+g}"}


def test_a_violation_without_a_scale_ranks_before_a_tight_pass():
    verdicts = [v("latency", 764_000.0, 0.764), v("never", -1.5, None),
                v("value", None, None)]
    assert tightest(verdicts)["kind"] == "never"


def test_passes_rank_by_relative_margin_then_raw():
    verdicts = [v("latency", 500_000.0, 0.5), v("settle", 0.01, 0.1), v("always", 0.001, None)]
    assert [x["kind"] for _, x in smallest_margins([{"name": "s", "verdicts": verdicts}], 3)] \
        == ["settle", "latency", "always"]
