"""PNG plots of trace signals, with the moment an expectation was violated marked.

Matplotlib is imported lazily and draws on an Agg canvas of its own figure (no pyplot:
no global figure manager, and ~0.5 s less start-up per process), so plotting works on a
CI machine with no display and costs nothing when no plot is made. A long series is drawn
through its min/max envelope (:func:`envelope`): the same picture at the PNG's
resolution, with memory bounded however long the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil.trace.files import atomic_output


def envelope(t: Any, v: Any, buckets: int = 2000) -> tuple[Any, Any]:
    """At most ~2 x ``buckets`` points of a series: per bucket of consecutive samples its
    minimum and its maximum, in time order, plus the first and last sample (a 900-pixel
    wide panel shows no difference; a 10-minute 1 kHz series is 600,000 samples)."""
    import numpy as np

    n = len(v)
    if n <= 4 * buckets:
        return t, v
    k = n // buckets
    blocks = np.asarray(v[:k * buckets]).reshape(buckets, k)
    base = np.arange(buckets) * k
    keep = np.unique(np.concatenate([base + blocks.argmin(axis=1), base + blocks.argmax(axis=1),
                                     np.arange(k * buckets, n), [0, n - 1]]))
    return t[keep], v[keep]


def plot_signals(trace: Any, names: Sequence[str], path: str | Path, *, title: str = "",
                 mark_ns: int | None = None, mark_label: str = "",
                 window_ns: tuple[int, int] | None = None) -> Path:
    """One stacked panel per signal over time; a red line at ``mark_ns``.

    The file is written under a partial name and renamed (hil.trace.files.atomic_output),
    so a failed plot never leaves a half-written PNG.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [n for n in dict.fromkeys(names) if trace.has(n)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 1.8 * max(len(names), 1) + 0.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(len(names), 1), 1, sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=False):
        s = trace.signal(name)
        t, v = s.t_s, s.values
        if window_ns is not None and len(t):
            lo, hi = window_ns[0] / 1e9, window_ns[1] / 1e9
            keep = (t >= lo) & (t <= hi)
            t, v = t[keep], v[keep]
        t, v = envelope(t, v)
        ax.step(t, v, where="post", linewidth=0.9)
        unit = f" [{s.unit}]" if getattr(s, "unit", "") else ""
        ax.set_ylabel(f"{name}{unit}", fontsize=8, rotation=0, ha="right", va="center")
        ax.grid(True, alpha=0.3)
        if mark_ns is not None:
            ax.axvline(mark_ns / 1e9, color="red", linewidth=1.0)
    axes[-1, 0].set_xlabel("time [s]")
    if mark_ns is not None and mark_label:
        axes[0, 0].annotate(mark_label, xy=(mark_ns / 1e9, 1.0), xycoords=("data", "axes fraction"),
                            color="red", fontsize=8, ha="left", va="bottom")
    if title:
        fig.suptitle(title, fontsize=10)
    # Fixed margins (inches) from the longest panel label (8 pt, about 0.07 in a
    # character) instead of tight_layout, which draws the whole figure once more to
    # measure it: the overview plot is drawn for every scenario of every run.
    width, height = fig.get_size_inches()
    longest = max((len(ax.get_ylabel()) for ax in axes[:, 0]), default=0)
    fig.subplots_adjust(left=min(0.07 * longest + 0.75, 0.45 * width) / width,
                        right=1 - 0.15 / width, bottom=0.55 / height,
                        top=1 - (0.45 if title else 0.2) / height, hspace=0.18)
    # Complete or absent, created with the process umask like any other report file
    # (mkstemp made every PNG 0600).
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    return path
