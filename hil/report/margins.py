"""Ranking robustness margins across expectations of different kinds and units.

A verdict's margin is in its own unit (ns, kPa, a fraction of a DBC range); to say which
expectation of a scenario or a suite came closest to failing, margins are compared as a
fraction of their scale (``relative_margin``: of the latency / eventually / budget bound,
the period jitter, the settle band, the signal's DBC range). A margin without a scale
(a plant quantity has no DBC range) ranks after those with one, by its raw value, and a
violation (negative margin) before any margin that held; a verdict without a margin
(nothing measured) is not ranked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["rank_key", "tightest", "smallest_margins", "describe"]


def rank_key(v: Mapping[str, Any]) -> tuple[bool, int, float]:
    """Sort key of a verdict summary (runner's result.json form): violations first, then
    the smallest margin."""
    held = float(v["margin"]) >= 0
    rel = v.get("relative_margin")
    if rel is not None and math.isfinite(rel):
        return (held, 0, float(rel))
    return (held, 1, float(v["margin"]))


def _ranked(verdicts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted((v for v in verdicts if v.get("margin") is not None), key=rank_key)


def tightest(verdicts: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The verdict that came closest to failing (or failed by the most)."""
    ranked = _ranked(verdicts)
    return ranked[0] if ranked else None


def smallest_margins(results: Sequence[Mapping[str, Any]],
                     n: int) -> list[tuple[str, Mapping[str, Any]]]:
    """The ``n`` smallest margins of a suite: (scenario name, verdict summary)."""
    pairs = [(r["name"], v) for r in results for v in r.get("verdicts", ())
             if v.get("margin") is not None]
    pairs.sort(key=lambda p: rank_key(p[1]))
    return pairs[:n]


def describe(v: Mapping[str, Any]) -> str:
    """``+764 us (latency, +76.4 %)``-style text of one verdict's margin."""
    rel = v.get("relative_margin")
    share = f", {rel * 100:+.3g} %" if rel is not None and math.isfinite(rel) else ""
    return f"{v['margin_text']} ({v['kind']}{share})"
